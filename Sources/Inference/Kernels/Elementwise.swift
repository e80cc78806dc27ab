import ModelFormat

/// Max-pooling over s x s windows, NHWC, for accumulators and floats (first maximum wins). Two
/// concrete copies, not one generic: generic code may allocate metadata, which invoke must not.
public enum MaxPoolKernel {
    /// Pools `input` (h x w x c accumulators) into (h/s) x (w/s) x c.
    @_noAllocation
    public static func run(_ input: UnsafePointer<Int32>, h: Int, w: Int, c: Int, s: Int, output: UnsafeMutablePointer<Int32>) {
        let (oh, ow) = (h / s, w / s)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let out = output + (oy * ow + ox) * c
                let first = input + ((oy * s) * w + ox * s) * c
                for ch in 0..<c { out[ch] = first[ch] }
                for dy in 0..<s {
                    for dx in 0..<s where dy != 0 || dx != 0 {
                        let at = input + ((oy * s + dy) * w + ox * s + dx) * c
                        for ch in 0..<c where at[ch] > out[ch] { out[ch] = at[ch] }
                    }
                }
            }
        }
    }

    /// Pools `input` (h x w x c floats) into (h/s) x (w/s) x c.
    @_noAllocation
    public static func run(_ input: UnsafePointer<Float>, h: Int, w: Int, c: Int, s: Int, output: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (h / s, w / s)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let out = output + (oy * ow + ox) * c
                let first = input + ((oy * s) * w + ox * s) * c
                for ch in 0..<c { out[ch] = first[ch] }
                for dy in 0..<s {
                    for dx in 0..<s where dy != 0 || dx != 0 {
                        let at = input + ((oy * s + dy) * w + ox * s + dx) * c
                        for ch in 0..<c where at[ch] > out[ch] { out[ch] = at[ch] }
                    }
                }
            }
        }
    }
}

/// BatchNorm + sign folded into thresholds (spec/FORMAT.md `threshold_sign`): +1 (bit 0) iff
/// (A >= threshold[c]) != flip[c]; output packed `flat` or `pixel`.
public enum ThresholdSignKernel {
    /// Thresholds an h x w x c map of accumulators into packed bits (words zeroed first).
    @_noAllocation
    public static func run(_ input: UnsafePointer<Int32>, h: Int, w: Int, c: Int, thresholds: UnsafePointer<Int32>,
                           flips: UnsafePointer<UInt8>, layout: BitLayout, output: UnsafeMutablePointer<UInt64>) {
        let pixels = h * w
        let rowWords = layout == .flat ? BitPacking.words(pixels * c) : BitPacking.words(c)
        let totalWords = layout == .flat ? rowWords : pixels * rowWords
        output.initialize(repeating: 0, count: totalWords)
        for p in 0..<pixels {
            for ch in 0..<c {
                let positive = (input[p * c + ch] >= thresholds[ch]) != (flips[ch] == 1)
                if positive { continue }
                let bit = layout == .flat ? p * c + ch : p * rowWords * 64 + ch
                output[bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }
    }
}

/// y = ((x * c) * scale) + shift per channel, float32, each step rounded, as the trainer evaluates
/// an output scale and BatchNorm (spec/FORMAT.md `affine`).
public enum AffineKernel {
    /// From accumulators.
    @_noAllocation
    public static func run(_ input: UnsafePointer<Int32>, pixels: Int, c: Int, outputScale: UnsafePointer<Float>?,
                           scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            for ch in 0..<c {
                var x = Float(input[p * c + ch])
                if let outputScale { x = x * outputScale[ch] }
                let scaled = x * scale[ch]
                output[p * c + ch] = scaled + shift[ch]
            }
        }
    }

    /// From floats.
    @_noAllocation
    public static func run(_ input: UnsafePointer<Float>, pixels: Int, c: Int, outputScale: UnsafePointer<Float>?,
                           scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            for ch in 0..<c {
                var x = input[p * c + ch]
                if let outputScale { x = x * outputScale[ch] }
                let scaled = x * scale[ch]
                output[p * c + ch] = scaled + shift[ch]
            }
        }
    }
}

/// Float activations and the final argmax.
public enum ActivationKernel {
    /// clamp(x, -1, 1) in place.
    @_noAllocation
    public static func hardtanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = x[i] < -1 ? -1 : (x[i] > 1 ? 1 : x[i]) }
    }

    /// max(x, 0) in place.
    @_noAllocation
    public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where !(x[i] > 0) { x[i] = 0 }
    }

    /// Index of the first largest value.
    @_noAllocation
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for i in 1..<max(count, 1) where x[i] > x[best] { best = i }
        return best
    }
}
