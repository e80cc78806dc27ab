// The exact forward pass of one image from its first layer's integer accumulators, for the leaf stage
// (Leaf+Enumeration.swift): the first layer's signs by its folded thresholds (`(A >= t) != flip` is +1,
// spec/FORMAT.md), packed into UInt64 words (bit 1 = −1, padding 0: the project's packing rule); each later
// layer's accumulators by XNOR-popcount on the network's packed rows (A = n − 2·popcount(a XOR w), as in the
// runtime's binary dense kernels; Rastegari et al., "XNOR-Net", ECCV 2016), its signs by its thresholds; the
// class by ScoreMap's float32 scores and argmax tie rule. The same arithmetic as BoundPropagation on a box
// of one image, without the masks of fixed units. A ternary layer's row reads its non-zero weights only (mask
// z): A = nz − 2·popcount((a XOR w) AND z) with nz its non-zero count, as the runtime's ternary kernels sum
// (u + v)/2; its columns hold 0 for a zero weight, so a flip there adds nothing.
//
// Each unit before a sign is held as its margin, an integer whose sign bit is the unit's packed bit:
// m = A − t where the unit is −1 iff A < t (flip false), m = t − 1 − A where it is −1 iff A >= t (flip
// true), with t first clamped to ±(R + 1) for R the largest |A| the layer can reach (the same comparison for
// every reachable A), so |m| <= 2R + 2: BinaryNetwork refuses R above 2^29, so an Int32 holds every margin,
// and an Int16 those of networks whose R is at most 16,382 (FCN2 on 2-bit codes: 784 x 7 = 5,488), which
// LeafForward.swift selects. Packing a layer is then one shift per unit, which the compiler vectorizes (the
// comparison against each threshold, with its flip, was a scalar loop and half the leaf stage's time).
//
// Consecutive images of a Gray-code walk differ in one pixel by one level, which moves each first-layer
// accumulator by 2 and flips few or no signs. So the pass is incremental, layer by layer: the signs that
// flipped (the XOR of the packed words) each add one column of the next layer, times ±2, to its margins
// (`BinaryNetwork.columns`, which hold σ·w with σ = −1 for a flipped unit, so a margin moves as its
// accumulator does, signed), whose signs are then packed again; when a layer's signs come out unchanged,
// every later layer and the class are unchanged too, and the pass stops there. The sums are exact integers,
// so the incremental pass equals a fresh one (the tests compare them bit for bit).

import ModelFormat

/// One image's forward pass from its first-layer accumulators, incremental from the previous image's, with
/// margins of type `Margin`: Int32 takes every network verify reads (the reference), Int16 those whose
/// reach allows it, twice as many units per vector instruction (`LeafForward.select` chooses).
struct PackedForward<Margin: FixedWidthInteger & SignedInteger> {
    let network: BinaryNetwork
    /// The packed layers (hidden, then the last), and their outputs and words per row.
    private let layers: [BinaryNetwork.PackedLayer]
    private let shapes: [(m: Int, words: Int)]
    /// Each sign layer's packed words, one after another (the first layer's, then each hidden layer's).
    private var signs: [UInt64]
    private let signOffsets: [Int]
    /// Each sign layer's margins, 64 per packed word (padding +1, so its bits pack to 0), and the margin's
    /// sign σ (−1 for a flipped unit) and offset c per unit: m = σ·A + c.
    private var margins: [Margin]
    private let sigma: [Margin]
    private let offset: [Margin]
    /// The last layer's accumulators, one per class.
    private var lastSums: [Int]
    private var scratch: [UInt64]
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
        shapes = layers.map { ($0.m, $0.words) }
        var signOffsets = [0]
        var sigma: [Margin] = [], offset: [Margin] = []
        if let first = network.firstThreshold {
            let reach = Self.reach(network)
            precondition(reach.allSatisfy { 2 * $0 + 2 <= Int(Margin.max) }, "margins of \(Margin.self) cannot hold reach \(reach)")
            for (l, threshold) in ([first] + network.hidden.map { $0.threshold! }).enumerated() {
                let units = threshold.threshold.count, words = BitPacking.words(units)
                signOffsets.append(signOffsets.last! + words)
                let r = reach[l] + 1
                for o in 0..<(words << 6) {
                    guard o < units else { sigma.append(0); offset.append(1); continue }   // padding: margin +1
                    let t = Margin(min(max(Int(threshold.threshold[o]), -r), r))
                    sigma.append(threshold.flip[o] ? -1 : 1)
                    offset.append(threshold.flip[o] ? t - 1 : -t)
                }
            }
        }
        self.signOffsets = signOffsets
        self.sigma = sigma
        self.offset = offset
        margins = offset
        signs = [UInt64](repeating: 0, count: signOffsets.last!)
        scratch = [UInt64](repeating: 0, count: signOffsets.indices.dropFirst().map { signOffsets[$0] - signOffsets[$0 - 1] }.max() ?? 0)
        lastSums = [Int](repeating: 0, count: network.classes)
    }

    /// The largest |accumulator| of each sign layer (fan-in times the largest input): its margins lie within
    /// ±(2·reach + 2).
    static func reach(_ network: BinaryNetwork) -> [Int] {
        guard network.firstThreshold != nil else { return [] }
        return [network.inputs * InputCodes.largest(delta: network.delta)] + network.hidden.map(\.n)
    }

    /// Sign layer `l`'s packed words as they are now (0: the first layer), for the tests.
    func layerSigns(_ l: Int) -> ArraySlice<UInt64> { signs[signOffsets[l]..<signOffsets[l + 1]] }

    /// The class of the image whose first-layer accumulators are `acc` (`network.firstUnits` of them).
    mutating func classify(_ acc: UnsafeBufferPointer<Int32>) -> Int {
        guard network.firstThreshold != nil else {
            // One layer: its accumulators are the classes' (exact, no sign).
            for j in 0..<network.classes { lastSums[j] = Int(acc[j]) }
            return network.scores.argmax(lastSums)
        }
        let units = network.firstUnits
        margins.withUnsafeMutableBufferPointer { m in
            sigma.withUnsafeBufferPointer { s in
                offset.withUnsafeBufferPointer { c in
                    for o in 0..<units { m[o] = s[o] &* Margin(truncatingIfNeeded: acc[o]) &+ c[o] }
                }
            }
        }
        packSigns(0)
        let changed = flipSigns(0)
        guard let cached else { return fresh() }
        guard changed else { return cached }
        guard incremental else { return fresh() }
        for l in layers.indices {
            if l > 0 {
                packSigns(l)
                guard flipSigns(l) else { return cached }
            }
            addFlips(l)
        }
        return argmaxLast()
    }

    /// Packs sign layer `l`'s margins into the scratch: bit 1 (−1) iff the margin is negative.
    private mutating func packSigns(_ l: Int) {
        let words = signOffsets[l + 1] - signOffsets[l], base = signOffsets[l] << 6
        margins.withUnsafeBufferPointer { m in
            scratch.withUnsafeMutableBufferPointer { out in
                for w in 0..<words {
                    let unit = m.baseAddress! + base + (w << 6)
                    var word: UInt64 = 0
                    // The arithmetic shift gives all ones for a negative margin and zero otherwise.
                    for i in 0..<64 { word |= UInt64(truncatingIfNeeded: unit[i] &>> (Margin.bitWidth - 1)) & (1 << UInt64(i)) }
                    out[w] = word
                }
            }
        }
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

    /// Adds to packed layer `l`'s outputs (the next sign layer's margins, or the last layer's sums) the columns
    /// of its inputs that flipped (in the scratch): twice the column, added for an input now +1, subtracted for one
    /// now −1.
    private mutating func addFlips(_ l: Int) {
        // Shapes only: copying the layer would retain its arrays once per call.
        let (m, words) = (shapes[l].m, shapes[l].words), source = signOffsets[l], isLast = l == layers.count - 1
        let base = isLast ? 0 : signOffsets[l + 1] << 6
        network.columns[l].withUnsafeBufferPointer { columns in
            signs.withUnsafeBufferPointer { a in
                scratch.withUnsafeBufferPointer { flipped in
                    for w in 0..<words {
                        var bits = flipped[w]
                        while bits != 0 {
                            let b = bits.trailingZeroBitCount
                            bits &= bits - 1
                            let down = (a[source + w] >> UInt64(b)) & 1 == 1
                            let column = columns.baseAddress! + (w << 6 | b) * m
                            if isLast {
                                for o in 0..<m { lastSums[o] &+= down ? -2 * Int(column[o]) : 2 * Int(column[o]) }
                            } else {
                                // Two loops, so each is one widen, shift and add (or subtract) per unit.
                                margins.withUnsafeMutableBufferPointer { all in
                                    let out = all.baseAddress! + base
                                    if down {
                                        for o in 0..<m { out[o] &-= Margin(truncatingIfNeeded: column[o]) &<< 1 }
                                    } else {
                                        for o in 0..<m { out[o] &+= Margin(truncatingIfNeeded: column[o]) &<< 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every later layer from the first layer's signs, by XNOR-popcount: the first image, or every image whose
    /// first-layer signs changed when the pass is not incremental.
    private mutating func fresh() -> Int {
        for (l, layer) in layers.enumerated() {
            let source = signOffsets[l], isLast = l == layers.count - 1
            let base = isLast ? 0 : signOffsets[l + 1] << 6
            for o in 0..<layer.m {
                var differ = 0
                if let mask = layer.mask {
                    for k in 0..<layer.words {
                        differ += ((signs[source + k] ^ layer.weights[o * layer.words + k]) & mask[o * layer.words + k]).nonzeroBitCount
                    }
                } else {
                    for k in 0..<layer.words { differ += (signs[source + k] ^ layer.weights[o * layer.words + k]).nonzeroBitCount }
                }
                let sum = layer.nonZero[o] - 2 * differ
                if isLast { lastSums[o] = sum } else { margins[base + o] = sigma[base + o] &* Margin(sum) &+ offset[base + o] }
            }
            if !isLast {
                packSigns(l + 1)
                _ = flipSigns(l + 1)
            }
        }
        return argmaxLast()
    }

    /// The class from the last layer's accumulators (ScoreMap: the runtime's scores and tie rule); kept for
    /// the next image.
    private mutating func argmaxLast() -> Int {
        let c = network.scores.argmax(lastSums)
        cached = c
        return c
    }
}
