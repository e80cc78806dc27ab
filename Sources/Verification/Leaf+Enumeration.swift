// The leaf stage of the branch and bound (BranchAndBound.swift, `Search.run`): an open box holding at most
// `leafLimit` images (the product of its unsplit pixels' level counts) is decided by running every one of
// them, exactly, instead of splitting it further.
//
// The images are visited in reflected mixed-radix Gray-code order (MixedRadixGray.swift, Knuth's Algorithm
// H), so each step moves one pixel by one level: the first layer's accumulators follow by one weight column
// (a code change of ±2, O(units)), and PackedForward takes the rest, re-running a later layer only when the
// signs feeding it changed. This is exhaustive enumeration of a finite input domain, the base case of
// complete BNN verification (Narodytska et al., "Verifying Properties of Binarized Deep Neural Networks",
// AAAI 2018, define robustness over exactly this finite set; Jia & Rinard, EEV, NeurIPS 2020, take the same
// exact integer forward pass); with bit-packed XNOR-popcount layers (Rastegari et al., "XNOR-Net", ECCV 2016;
// Courbariaux et al., "Binarized Neural Networks", NeurIPS 2016) one image costs a few microseconds, far less
// than bounding and splitting a small box. Sound and complete by construction: the box's images are exactly
// the Gray code's tuples, each classified with the runtime's arithmetic (ScoreMap's float32 scores and tie
// rule), and the first image whose class is not the label is returned (the tool checks it with the runtime).
// The argmax covers the nine wrong classes at once: one pass per image, whatever class would win.

import ModelFormat

extension BinaryNetwork {
    /// The default `leafLimit`: the largest box decided by enumeration instead of splitting (docs/VERIFY.md,
    /// "The leaf stage", has the measurement behind it).
    public static let defaultLeafLimit = 1 << 8
    /// The default `wideLeafLimit`: the largest box enumerated when the bounds leave most of the last hidden
    /// layer open (docs/VERIFY.md, ninth slice).
    public static let defaultWideLeafLimit = 1 << 16
}

extension Search {
    /// Whether the current open box is decided by enumeration: always when it holds at most `leafLimit` images;
    /// up to `wideLeafLimit` images when the bounds left more than half of the last hidden layer open. The last
    /// layer's check (BoundPropagation) proves a box only when few of those units are free, so such a box is
    /// rarely closed by splitting a few more pixels: on a hard image the search then walks the whole tree down
    /// to `leafLimit`, bounding every node in vain (a 25-pixel image: unknown at 60 s with 256; proved in 55 s
    /// by enumerating all of its 2^25 images).
    func shouldEnumerate() -> Bool {
        let images = boxImages(upTo: max(leafLimit, wideLeafLimit))
        if images <= leafLimit { return true }
        guard images <= wideLeafLimit, network.firstThreshold != nil, let lastHidden = bounds.fixed.last else { return false }
        let width = network.hidden.last?.m ?? network.firstUnits
        return 2 * BoundPropagation.count(lastHidden) < width
    }

    /// The number of images in the current box (the product of the unsplit free pixels' level counts), or
    /// `cap + 1` once it passes `cap`.
    func boxImages(upTo cap: Int) -> Int {
        var total = 1
        for f in free.indices where low[f] < high[f] {
            total *= high[f] - low[f] + 1
            if total > cap { return cap + 1 }
        }
        return total
    }

    /// Decides the current box by classifying each of its images in Gray-code order: the first one whose
    /// class is not the label, robust when there is none, or unknown when the deadline passes first.
    mutating func enumerateLeaf() -> Verdict {
        if narrowForward == nil && wideForward == nil {
            switch LeafForward.select(network) {
            case let .narrow(f): narrowForward = f
            case let .wide(f): wideForward = f
            }
        }
        // Moved out of the search while it runs, so its arrays stay uniquely referenced (no copy per leaf).
        if var forward = narrowForward {
            narrowForward = nil
            defer { narrowForward = forward }
            return enumerateLeaf(with: &forward)
        }
        var forward = wideForward!
        wideForward = nil
        defer { wideForward = forward }
        return enumerateLeaf(with: &forward)
    }

    /// `enumerateLeaf()` with the forward pass of either margin width.
    mutating func enumerateLeaf<Margin>(with forward: inout PackedForward<Margin>) -> Verdict {
        let digits = free.indices.filter { low[$0] < high[$0] }
        // The box's first image: every unsplit pixel at its lowest level. `lo` has its highest code where the
        // weight is −1; lower those by the range's width.
        var acc = lo
        for f in digits { network.addColumn(free[f], plus: 0, minus: Int32(2 * (high[f] - low[f])), to: &acc) }
        var gray = MixedRadixGray(radices: digits.map { high[$0] - low[$0] + 1 })
        var visited = 0
        while true {
            visited += 1
            leafImages += 1
            if acc.withUnsafeBufferPointer({ forward.classify($0) }) != label {
                var levels = low
                for (k, f) in digits.enumerated() { levels[f] = low[f] + gray.digits[k] }
                return .counterexample(image(levels: levels))
            }
            if let deadline, visited & 1023 == 0, deadline.passed { return .unknown }
            guard let (k, step) = gray.next() else { return .robust }
            network.addColumn(free[digits[k]], plus: Int32(2 * step), minus: Int32(-2 * step), to: &acc)
        }
    }

    /// The image with free pixel `f` at level `levels[f]` (at its pixel nearest the clean one), every other
    /// pixel clean.
    func image(levels: [Int]) -> [UInt8] {
        var out = pixels
        for f in free.indices { out[free[f]] = PixelBudget.nearest(pixels[free[f]], level: levels[f], delta: network.delta) }
        return out
    }
}
