import Foundation

// The per-image files `infer --predictions/--scores` and `train eval --predictions/--scores` write, so an
// outside tool (bitshield_torch, a notebook) compares image by image and score by score. One rule here.

/// One predicted class per line.
public func predictionLines(_ classes: [Int]) -> String {
    classes.map(String.init).joined(separator: "\n") + (classes.isEmpty ? "" : "\n")
}

/// One line per image: its `classes` scores separated by spaces, each printed `%.9g`, which reads back as
/// the same binary32 value (nine significant digits identify every float).
public func scoreLines(_ scores: [Float], classes: Int) -> String {
    guard classes > 0 else { return "" }
    var text = ""
    text.reserveCapacity(scores.count * 14)
    for (i, v) in scores.enumerated() {
        text += String(format: "%.9g", Double(v))
        text += (i + 1) % classes == 0 ? "\n" : " "
    }
    return text
}
