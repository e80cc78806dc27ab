// The exact forward pass of one image from its first layer's integer accumulators, for the leaf stage
// (Leaf+Enumeration.swift): the first layer's signs by its folded thresholds (`(A >= t) != flip` is +1,
// spec/FORMAT.md), packed into UInt64 words (bit 1 = −1, padding 0: the project's packing rule); each later
// layer's accumulators by XNOR-popcount on the network's packed rows (A = n − 2·popcount(a XOR w), as in the
// runtime's binary dense kernels; Rastegari et al., "XNOR-Net", ECCV 2016), its signs by its thresholds; the
// class by ScoreMap's float32 scores and argmax tie rule. The same arithmetic as BoundPropagation on a box
// of one image, without the masks.
//
// Consecutive images of a Gray-code walk differ in one pixel by one level, which moves each first-layer
// accumulator by 2 and flips few or no signs. So the pass is incremental, layer by layer: the signs that
// flipped (the XOR of the packed words) each add one weight column, times ±2, to the next layer's integer
// accumulators (`BinaryNetwork.columns`), whose signs are then compared again; when a layer's signs come out
// unchanged, every later layer and the class are unchanged too, and the pass stops there. The sums are exact
// integers, so the incremental pass equals a fresh one (the tests compare them bit for bit).

import ModelFormat

/// One image's forward pass from its first-layer accumulators, incremental from the previous image's.
struct PackedForward {
    let network: BinaryNetwork
    /// The packed layers (hidden, then the last).
    private let layers: [BinaryNetwork.PackedLayer]
    /// Each sign layer's packed words, one after another (the first layer's, then each hidden layer's).
    private var signs: [UInt64]
    private let signOffsets: [Int]
    /// Each packed layer's accumulators, one after another.
    private var sums: [Int32]
    private let sumOffsets: [Int]
    private var scratch: [UInt64]
    private var lastSums: [Int]
    /// The class of the state held (nil before the first image).
    private var cached: Int?
    /// Whether flipped signs update the next layer by columns (else it is recomputed).
    private let incremental: Bool

    /// The pass over `network`: incremental when the network has its columns, or as `incremental` says (the
    /// tests take both ways).
    init(network: BinaryNetwork, incremental: Bool? = nil) {
        self.network = network
        self.incremental = incremental ?? !network.columns.isEmpty
        precondition(!self.incremental || !network.columns.isEmpty, "an incremental pass needs the network's columns")
        layers = network.firstThreshold == nil ? [] : network.hidden + [network.last!]
        var signOffsets = [0], sumOffsets = [0]
        if network.firstThreshold != nil {
            for width in [network.firstUnits] + network.hidden.map(\.m) { signOffsets.append(signOffsets.last! + BitPacking.words(width)) }
        }
        for layer in layers { sumOffsets.append(sumOffsets.last! + layer.m) }
        self.signOffsets = signOffsets
        self.sumOffsets = sumOffsets
        signs = [UInt64](repeating: 0, count: signOffsets.last!)
        sums = [Int32](repeating: 0, count: sumOffsets.last!)
        scratch = [UInt64](repeating: 0, count: signOffsets.indices.dropFirst().map { signOffsets[$0] - signOffsets[$0 - 1] }.max() ?? 0)
        lastSums = [Int](repeating: 0, count: network.classes)
    }

    /// Sign layer `l`'s packed words as they are now (0: the first layer), for the tests.
    func layerSigns(_ l: Int) -> ArraySlice<UInt64> { signs[signOffsets[l]..<signOffsets[l + 1]] }

    /// The class of the image whose first-layer accumulators are `acc` (`network.firstUnits` of them).
    mutating func classify(_ acc: UnsafeBufferPointer<Int32>) -> Int {
        guard let first = network.firstThreshold else {
            // One layer: its accumulators are the classes' (exact, no sign).
            for j in 0..<network.classes { lastSums[j] = Int(acc[j]) }
            return network.scores.argmax(lastSums)
        }
        Self.pack(UnsafeBufferPointer(rebasing: acc[0..<network.firstUnits]), first, into: &scratch)
        let changed = flipSigns(0)
        guard let cached else { return fresh() }
        guard changed else { return cached }
        guard incremental else { return fresh() }
        for l in layers.indices {
            if l > 0 { guard flipSigns(l) else { return cached } }
            addFlips(l)
            if l < layers.count - 1 { thresholdSigns(l) }
        }
        return argmaxLast()
    }

    /// Takes the scratch words as sign layer `l`, leaving in the scratch which bits flipped; returns whether any did.
    private mutating func flipSigns(_ l: Int) -> Bool {
        var any: UInt64 = 0
        for k in 0..<(signOffsets[l + 1] - signOffsets[l]) {
            let flipped = signs[signOffsets[l] + k] ^ scratch[k]
            signs[signOffsets[l] + k] = scratch[k]
            scratch[k] = flipped
            any |= flipped
        }
        return any != 0
    }

    /// Adds to packed layer `l`'s accumulators the columns of its inputs that flipped (in the scratch): +2·w
    /// for an input now +1, −2·w for one now −1.
    private mutating func addFlips(_ l: Int) {
        let layer = layers[l], base = sumOffsets[l], source = signOffsets[l]
        network.columns[l].withUnsafeBufferPointer { columns in
            signs.withUnsafeBufferPointer { a in
                scratch.withUnsafeBufferPointer { flipped in
                    sums.withUnsafeMutableBufferPointer { s in
                        let out = s.baseAddress! + base
                        for w in 0..<layer.words {
                            var bits = flipped[w]
                            while bits != 0 {
                                let b = bits.trailingZeroBitCount
                                bits &= bits - 1
                                let step: Int32 = (a[source + w] >> UInt64(b)) & 1 == 1 ? -2 : 2
                                let column = columns.baseAddress! + (w << 6 | b) * layer.m
                                for o in 0..<layer.m { out[o] &+= Int32(truncatingIfNeeded: column[o]) &* step }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Packed layer `l`'s signs from its accumulators, into the scratch (the next sign layer's candidate words).
    private mutating func thresholdSigns(_ l: Int) {
        let base = sumOffsets[l]
        sums.withUnsafeBufferPointer { s in Self.pack(UnsafeBufferPointer(rebasing: s[base..<(base + layers[l].m)]), layers[l].threshold!, into: &scratch) }
    }

    /// The packed signs of `units` accumulators by their thresholds: bit 1 (−1) iff (A >= t) == flip, that
    /// is iff (A < t) != flip, branch-free on the sign of A − t in 64 bits (a hostile threshold cannot wrap it).
    @inline(__always)
    static func pack(_ sums: UnsafeBufferPointer<Int32>, _ threshold: BinaryNetwork.Threshold, into scratch: inout [UInt64]) {
        let m = sums.count
        threshold.threshold.withUnsafeBufferPointer { t in
            threshold.flip.withUnsafeBufferPointer { flip in
                scratch.withUnsafeMutableBufferPointer { out in
                    for w in 0..<BitPacking.words(m) {
                        var word: UInt64 = 0
                        for o in (w << 6)..<min(m, (w + 1) << 6) {
                            let below = UInt64(bitPattern: Int64(sums[o]) &- Int64(t[o])) >> 63
                            word |= (below ^ (flip[o] ? 1 : 0)) << UInt64(o & 63)
                        }
                        out[w] = word
                    }
                }
            }
        }
    }

    /// Every later layer from the first layer's signs, by XNOR-popcount: the first image, or every image whose
    /// first-layer signs changed when the pass is not incremental.
    private mutating func fresh() -> Int {
        for (l, layer) in layers.enumerated() {
            let source = signOffsets[l], base = sumOffsets[l]
            signs.withUnsafeBufferPointer { a in
                layer.weights.withUnsafeBufferPointer { wts in
                    for o in 0..<layer.m {
                        var differ = 0
                        for k in 0..<layer.words { differ += (a[source + k] ^ wts[o * layer.words + k]).nonzeroBitCount }
                        sums[base + o] = Int32(layer.n - 2 * differ)
                    }
                }
            }
            if l < layers.count - 1 {
                thresholdSigns(l)
                _ = flipSigns(l + 1)
            }
        }
        return argmaxLast()
    }

    /// The class from the last layer's accumulators (ScoreMap: the runtime's scores and tie rule); kept for
    /// the next image.
    private mutating func argmaxLast() -> Int {
        let base = sumOffsets[layers.count - 1]
        for j in 0..<network.classes { lastSums[j] = Int(sums[base + j]) }
        let c = network.scores.argmax(lastSums)
        cached = c
        return c
    }
}
