import Foundation

/// One JSON object on one line, keys sorted, slashes unescaped: every tool's `--json` line
/// (ARCHITECTURE.md: the last line of stdout). A value JSON cannot hold (NaN, infinity) throws.
public func jsonLine(_ object: [String: Any]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
