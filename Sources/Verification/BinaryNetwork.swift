// The models the verifier reasons about, read from the exact image the runtime runs (spec/FORMAT.md):
//
//   input_codes (δ < 8) → binary dense on codes → [threshold_sign → binary dense on bits]* → affine → argmax
//
// Binary and XNOR networks both have this form: XNOR's α is folded into the thresholds and the affine's
// output scale by the converter. Everything else (float or 8-bit input layers, conv2d, max-pool, hardtanh,
// a float last layer) is refused, naming the op. Weights are read through `PackedRows`, so the `bits`,
// `bits8` and `columns32` layouts give the same network.
//
// A dense layer may be ternary (format version 5, spec/FORMAT.md "Ternary `dense` weights": weights in
// {−1, 0, +1} as two ±1 planes, the rule in ModelFormat's BitPacking+Ternary.swift). The verifier reads the
// weight itself: the first layer's columns hold −1, 0 or +1, and a packed layer keeps its sign words (the
// upper plane: bit 1 = −1, 0 for a zero weight) with a mask of its non-zero weights per row, so every sum
// below runs over the non-zero weights only (A = Σ_{w ≠ 0} a·w: a zero weight reads nothing). Binary
// layers carry no mask (every weight within the row is non-zero) and take the same code as before.

import ModelFormat

/// A binary fully connected network in the form the verifier reasons on: integer layers with integer
/// thresholds, then the last layer's float32 scores.
public struct BinaryNetwork: Sendable {
    /// The input's height, width and channels (NHWC pixels).
    public let height: Int, width: Int, channels: Int
    /// Bits of the input quantizer, δ (1...7).
    public let delta: Int
    /// Output classes.
    public let classes: Int

    /// The first layer: `inputs` codes to `firstUnits` accumulators, weights by column (`firstColumns[i * firstUnits + o]`
    /// is w_oi: ±1, or 0 in a ternary layer), so one pixel's weights are contiguous. Its threshold is nil when it
    /// is the last layer.
    let inputs: Int, firstUnits: Int
    let firstColumns: [Int8]
    let firstThreshold: Threshold?
    /// Whether the first layer is ternary (some of `firstColumns` may be 0).
    let firstTernary: Bool
    /// The binary layers on packed ±1 inputs after the first, each with its threshold except the last.
    let hidden: [PackedLayer]
    /// The last layer when it reads packed bits (nil: the first layer is the last).
    let last: PackedLayer?
    /// The last layer's `affine`, per class.
    let scores: ScoreMap
    /// The packed layers' weights by input, the hidden layers' then the last's: `columns[l][k * m + o]` = σ_o·w_ok
    /// (±1, or 0 for a ternary layer's zero weight), with σ_o = −1 where unit o's threshold flips (+1 elsewhere,
    /// and throughout the last layer). The leaf stage's forward pass (PackedForward.swift) adds one column per
    /// input sign that flips to the units' margins, which move as σ times their accumulators.
    /// Empty when those layers hold more than `maxFirstLayerWeights` weights together (it then recomputes them).
    let columns: [[Int8]]

    /// Integer thresholds of a `threshold_sign`, one per unit (channels expanded): the unit is +1 iff
    /// `(A >= threshold) != flip` (spec/FORMAT.md, "Folding BatchNorm and sign into a threshold").
    struct Threshold: Sendable {
        let threshold: [Int32]
        let flip: [Bool]
    }

    /// A binary or ternary dense layer on packed ±1 inputs: `m` rows of `words` 64-bit words (bit 1 = −1,
    /// padding 0; a zero weight's bit is 0).
    struct PackedLayer: Sendable {
        let n: Int, m: Int, words: Int
        let weights: [UInt64]
        /// Ternary layers: each row's non-zero weights, packed like `weights` (bit 1 = non-zero, padding 0).
        /// Nil for a binary layer, whose every weight within the row is non-zero.
        let mask: [UInt64]?
        /// Each row's count of non-zero weights (n throughout a binary layer).
        let nonZero: [Int]
        let threshold: Threshold?

        /// Row `o`'s weight on input `k`: −1, 0 or +1.
        @inline(__always)
        func weight(_ o: Int, _ k: Int) -> Int {
            let w = o * words + (k >> 6), b = UInt64(k & 63)
            if let mask, (mask[w] >> b) & 1 == 0 { return 0 }
            return (weights[w] >> b) & 1 == 1 ? -1 : 1
        }

        /// Word `w` of row `o`'s non-zero weights (all ones within the row for a binary layer).
        @inline(__always)
        func nonZeroWord(_ o: Int, _ w: Int) -> UInt64 {
            mask.map { $0[o * words + w] } ?? BinaryNetwork.validMask(w, n: n)
        }
    }

    /// The most first-layer weights verify takes: it keeps them one byte each, by column (64 MiB; FCN1's
    /// 784 x 6144 is 4.8 M).
    public static let maxFirstLayerWeights = 1 << 26

    /// The largest |accumulator| verify takes in any layer (fan-in times the largest input): 2^29.
    public static let maxReach = 1 << 29

    /// The total input values, H·W·C.
    public var inputCount: Int { height * width * channels }

    /// Reads the network from a validated image, or refuses it naming the first op it cannot take.
    public init(image: ModelImage) throws(VerificationError) {
        let ops = image.ops
        height = Int(image.header.inputHeight)
        width = Int(image.header.inputWidth)
        channels = Int(image.header.inputChannels)
        classes = Int(image.header.classes)
        guard ops.count >= 3, ops[0].kind == .inputCodes else {
            throw .unsupported(op: 0, what: "a model that is not input_codes, binary dense layers, affine and argmax")
        }
        delta = ops[0].p(0)
        guard delta < 8 else {
            throw .unsupported(op: 0, what: "8-bit input (δ = 8: every pixel is its own level; verify needs δ < 8)")
        }
        var k = 1
        /// Layer k's shape, its sign rows (the upper plane) and, when ternary, its lower plane's rows.
        func denseWeights(_ k: Int, on kind: ActivationKind) throws(VerificationError) -> (n: Int, m: Int, rows: PackedRows, lower: PackedRows?) {
            let op = ops[k]
            guard op.kind == .dense else { throw .unsupported(op: k, what: Self.describe(op)) }
            guard image.isBits(op.p(2)) else { throw .unsupported(op: k, what: "a float dense layer (\(op.p(0)) → \(op.p(1)))") }
            guard op.input.kind == kind else { throw .unsupported(op: k, what: "a binary dense layer on \(op.input.kind) input") }
            let n = op.p(0), lower = image.lowerPlane(k)
            return (n, op.p(1), image.packedRows(op.p(2), n: n), lower < 0 ? nil : image.packedRows(lower, n: n))
        }
        func threshold(_ k: Int, units: Int) throws(VerificationError) -> Threshold? {
            guard k < ops.count, ops[k].kind == .thresholdSign else { return nil }
            let op = ops[k], c = op.p(2)
            let t = image.data(op.p(3)), f = image.data(op.p(4))
            var thresholds = [Int32](repeating: 0, count: units), flips = [Bool](repeating: false, count: units)
            for u in 0..<units {
                thresholds[u] = Int32(littleEndian: t.loadUnaligned(fromByteOffset: 4 * (u % c), as: Int32.self))
                flips[u] = f.load(fromByteOffset: u % c, as: UInt8.self) == 1
            }
            return Threshold(threshold: thresholds, flip: flips)
        }

        let first = try denseWeights(k, on: .codes)
        guard first.n * first.m <= Self.maxFirstLayerWeights else {
            throw .unsupported(op: k, what: "a first layer of \(first.n) x \(first.m) = \(first.n * first.m) weights (verify takes at most \(Self.maxFirstLayerWeights))")
        }
        // Every accumulator must stay within ±2^29 (far above any FCN's), so that a unit's margin to its
        // threshold (PackedForward.swift) fits in an Int32.
        let firstReach = first.n * InputCodes.largest(delta: delta)
        guard firstReach <= Self.maxReach else {
            throw .unsupported(op: k, what: "a first layer whose accumulators reach \(first.n) x \(InputCodes.largest(delta: delta)) = \(firstReach) (verify takes at most \(Self.maxReach))")
        }
        inputs = first.n
        firstUnits = first.m
        var columns = [Int8](repeating: 0, count: first.n * first.m)
        for o in 0..<first.m {
            for i in 0..<first.n {
                let u = first.rows.value(o, i)
                columns[i * first.m + o] = Int8(first.lower.map { (u + $0.value(o, i)) / 2 } ?? u)   // w = (u + v) / 2
            }
        }
        firstColumns = columns
        firstTernary = first.lower != nil
        firstThreshold = try threshold(k + 1, units: first.m)
        k += firstThreshold == nil ? 1 : 2

        var layers: [PackedLayer] = []
        var lastLayer: PackedLayer? = nil
        while firstThreshold != nil {
            let (n, m, rows, lower) = try denseWeights(k, on: .bits)
            guard n <= Self.maxReach else {
                throw .unsupported(op: k, what: "a binary dense layer of \(n) inputs (verify takes at most \(Self.maxReach))")
            }
            let words = BitPacking.words(n)
            var packed = [UInt64](repeating: 0, count: m * words)
            for o in 0..<m { for j in 0..<words { packed[o * words + j] = rows.word(o, j) } }
            var mask: [UInt64]? = nil, nonZero = [Int](repeating: n, count: m)
            if let lower {
                var bits = [UInt64](repeating: 0, count: m * words)
                for o in 0..<m {
                    for j in 0..<words {
                        bits[o * words + j] = BitPacking.nonZero(upper: rows.word(o, j), lower: lower.word(o, j)) & Self.validMask(j, n: n)
                    }
                    nonZero[o] = bits[(o * words)..<((o + 1) * words)].reduce(0) { $0 + $1.nonzeroBitCount }
                }
                mask = bits
            }
            let t = try threshold(k + 1, units: m)
            let layer = PackedLayer(n: n, m: m, words: words, weights: packed, mask: mask, nonZero: nonZero, threshold: t)
            if t == nil {
                lastLayer = layer
                k += 1
                break
            }
            layers.append(layer)
            k += 2
        }
        hidden = layers
        last = lastLayer
        let packedLayers = layers + (lastLayer.map { [$0] } ?? [])
        if packedLayers.reduce(0, { $0 + $1.n * $1.m }) <= Self.maxFirstLayerWeights {
            self.columns = packedLayers.map { layer in
                var column = [Int8](repeating: 1, count: layer.n * layer.m)
                for o in 0..<layer.m {
                    let sigma: Int8 = layer.threshold?.flip[o] == true ? -1 : 1
                    for k in 0..<layer.n { column[k * layer.m + o] = sigma * Int8(layer.weight(o, k)) }
                }
                return column
            }
        } else {
            self.columns = []
        }

        guard k + 1 < ops.count, ops[k].kind == .affine, ops[k + 1].kind == .argmax, k + 2 == ops.count else {
            throw .unsupported(op: k, what: k < ops.count ? Self.describe(ops[k]) + " after the last binary layer (verify needs affine → argmax)"
                                                          : "a model without affine → argmax")
        }
        let fanIn = lastLayer?.n ?? first.n
        let largest = lastLayer == nil ? InputCodes.largest(delta: delta) : 1
        scores = try ScoreMap(image: image, op: ops[k], index: k, classes: classes, reach: fanIn * largest)
    }

    /// A short name of an op for the refusal message.
    static func describe(_ op: OpView) -> String {
        switch op.kind {
        case .conv2d: return "conv2d (\(op.p(3))x\(op.p(3)), \(op.p(4)) channels)"
        case .maxpool2d: return "maxpool2d"
        case .hardtanh: return "hardtanh (a float last layer)"
        case .relu: return "relu"
        case .dense: return "a dense layer"
        default: return "\(op.kind)"
        }
    }
}
