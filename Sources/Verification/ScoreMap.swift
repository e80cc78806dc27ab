// Stage (c) of the method: the last layer's scores and the argmax, reproduced exactly.
//
// spec/FORMAT.md `affine` and `argmax`: a class's score is ((Float(A) · c) · scale) + shift, each step one
// float32 rounding (the same expression as Inference's AffineKernel, so the same bits), and the argmax is
// the FIRST index of the largest score. Rounding is monotone, so each score is a monotone function of its
// integer accumulator A (non-decreasing when c · scale > 0, non-increasing when < 0, constant when 0):
// over an interval of A its extremes are at the ends, which makes interval reasoning exact per class
// (Jia & Rinard, "Efficient Exact Verification of Binarized Neural Networks", NeurIPS 2020, treat the
// BatchNorm of the last layer the same way, as a monotone map of the integer sum). The one exception,
// a NaN from an overflowed x · c times a scale of 0, is refused when the model is read.

import ModelFormat

/// The last layer's `affine` per class, and the argmax's tie rule.
struct ScoreMap: Sendable {
    let outputScale: [Float]?
    let scale: [Float]
    let shift: [Float]
    /// Per class: +1 when the score grows with A, −1 when it falls, 0 when constant.
    let direction: [Int]

    init(image: ModelImage, op: OpView, index: Int, classes: Int, reach: Int) throws(VerificationError) {
        let c = op.p(2)
        func floats(_ tensor: Int) -> [Float] {
            let p = image.data(tensor)
            return (0..<classes).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * ($0 % c), as: UInt32.self))) }
        }
        outputScale = op.p(3) == 0 ? nil : floats(op.p(3) - 1)
        scale = floats(op.p(4))
        shift = floats(op.p(5))
        direction = (0..<classes).map { [outputScale, scale] j in
            func sign(_ v: Float) -> Int { v == 0 ? 0 : (v < 0 ? -1 : 1) }
            return (outputScale.map { sign($0[j]) } ?? 1) * sign(scale[j])
        }
        // A NaN needs x · c = ±inf (largest at the ends of the range) times a scale of 0.
        for j in 0..<classes {
            for a in [-reach, reach] where score(j, a).isNaN {
                throw .unsupported(op: index, what: "an affine whose score for class \(j) is NaN at accumulator \(a) (output scale \(outputScale?[j] ?? 1), scale \(scale[j]))")
            }
        }
    }

    /// Class `j`'s score at accumulator `a`: the runtime's arithmetic, step by step.
    @inline(__always)
    func score(_ j: Int, _ a: Int) -> Float {
        var x = Float(Int32(truncatingIfNeeded: a))
        if let outputScale { x = x * outputScale[j] }
        let scaled = x * scale[j]
        return scaled + shift[j]
    }

    /// The least and greatest score of class `j` over accumulators in `lo...hi`.
    @inline(__always)
    func range(_ j: Int, _ lo: Int, _ hi: Int) -> (low: Float, high: Float) {
        let a = score(j, lo), b = score(j, hi)
        return (min(a, b), max(a, b))
    }

    /// Whether class `j` with score `sj` is ranked above class `y` with score `sy` by the argmax (the scan
    /// keeps the first index of the largest value): sj > sy, or a tie won by the lower index.
    @inline(__always)
    static func beats(_ j: Int, _ sj: Float, _ y: Int, _ sy: Float) -> Bool {
        sj > sy || (sj == sy && j < y)
    }

    /// The argmax of exact accumulators `a` (the runtime's scan).
    func argmax(_ a: [Int]) -> Int {
        var best = 0, bestScore = score(0, a[0])
        for j in 1..<a.count {
            let s = score(j, a[j])
            if s > bestScore { best = j; bestScore = s }
        }
        return best
    }
}
