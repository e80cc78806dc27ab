// Folding an output scale, BatchNorm and sign into one integer threshold (spec/FORMAT.md, "Folding
// BatchNorm and sign into a threshold"). The trainer evaluates, per channel, in float32:
//   f(A) = ((A * c) * scale) + shift        (the "* c" only when the layer has an output scale)
//   sign = +1 if f(A) >= 0 else -1
// Each rounding is monotone, so f is monotone in A; the boundary is found by binary search with
// exactly this arithmetic, so the runtime's `A >= threshold` agrees with the trainer on every A.
//
// Verification (the converter's step that spec/FORMAT.md names): f is monotone except where it is
// NaN, and the only NaN a finite c, scale and shift can give is (A * c) overflowing to ±inf times a zero
// scale. Then f is `±0 + shift` wherever A * c is finite (an interval around A = 0) and NaN (sign -1)
// beyond: the binary search sees -1 at both ends and folds a constant -1, right only when f(0) < 0.
// So `verifiedFold` checks the rule at both ends, at 0 and on both sides of the threshold: with no NaN
// that confirms the search, and with NaN it finds the one case no threshold can express (+1 near 0, -1
// at the ends), which the exporter refuses, naming the accumulator and the float value there.

/// BatchNorm + sign as an integer threshold.
public enum ThresholdFolding {
    /// The trainer's float expression for accumulator `a`.
    @inline(never)
    public static func evaluate(_ a: Int, c: Float?, scale: Float, shift: Float) -> Float {
        var x = Float(a)
        if let c { x = x * c }
        let scaled = x * scale
        return scaled + shift
    }

    /// The runtime's rule: +1 iff (a >= threshold) != (flip == 1).
    @inlinable public static func isPositive(_ a: Int, threshold: Int32, flip: UInt8) -> Bool {
        (a >= Int(threshold)) != (flip == 1)
    }

    /// Threshold and flip reproducing `evaluate(a) >= 0` for every a in [-range, range], verified; or
    /// the accumulator where the fold and the float expression differ, with the float value there.
    public static func verifiedFold(c: Float?, scale: Float, shift: Float, range: Int)
        -> Result<(threshold: Int32, flip: UInt8), Mismatch> {
        let folded = fold(c: c, scale: scale, shift: shift, range: range)
        let t = Int(folded.threshold)
        // The ends, 0 (inside any NaN-free middle), then both sides of the boundary, within the range.
        for a in [-range, range, 0, t - 1, t] where (-range...range).contains(a) {
            let value = evaluate(a, c: c, scale: scale, shift: shift)
            if isPositive(a, threshold: folded.threshold, flip: folded.flip) != (value >= 0) {
                return .failure(Mismatch(accumulator: a, value: value, threshold: folded.threshold, flip: folded.flip))
            }
        }
        return .success(folded)
    }

    /// Where a folded threshold and the trainer's float expression disagree.
    public struct Mismatch: Error, Equatable {
        public var accumulator: Int
        public var value: Float
        public var threshold: Int32
        public var flip: UInt8
    }

    /// Threshold and flip reproducing `evaluate(a) >= 0` for every a in [-range, range] where f is
    /// monotone (no NaN: see `verifiedFold`, which the exporter calls).
    public static func fold(c: Float?, scale: Float, shift: Float, range: Int) -> (threshold: Int32, flip: UInt8) {
        func positive(_ a: Int) -> Bool { evaluate(a, c: c, scale: scale, shift: shift) >= 0 }
        let lo = -range, hi = range
        let atLo = positive(lo), atHi = positive(hi)
        if atLo == atHi {
            // Constant over the range (a zero scale, or a boundary outside it).
            return (Int32.min, atLo ? 0 : 1)
        }
        if !atLo && atHi {
            // Increasing: least a with f(a) >= 0.
            var (l, h) = (lo, hi)          // positive(l) false, positive(h) true
            while h - l > 1 {
                let m = l + (h - l) / 2
                if positive(m) { h = m } else { l = m }
            }
            return (Int32(h), 0)
        }
        // Decreasing: +1 for a <= greatest a with f(a) >= 0, i.e. not (a >= that + 1).
        var (l, h) = (lo, hi)              // positive(l) true, positive(h) false
        while h - l > 1 {
            let m = l + (h - l) / 2
            if positive(m) { l = m } else { h = m }
        }
        return (Int32(h), 1)
    }
}
