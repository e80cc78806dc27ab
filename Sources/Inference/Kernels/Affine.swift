// spec/FORMAT.md `affine`: an output scale and BatchNorm in the trainer's evaluation arithmetic.

/// y = ((x * c) * scale) + shift per channel, float32, each step rounded, as the trainer evaluates
/// an output scale and BatchNorm (spec/FORMAT.md `affine`).
public enum AffineKernel {
    /// From accumulators.
    @_noAllocation @inline(never)
    public static func run(_ input: UnsafePointer<Int32>, pixels: Int, c: Int, outputScale: UnsafePointer<Float>?,
                           scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        for p in 0..<pixels {
            for ch in 0..<c {
                // Through Int (the word): Float(Int32) became a call of the 64-bit software conversion
                // on the Cortex-M4 (__aeabi_l2f, about 600 instructions an output), Float(Int) one vcvt.
                var x = Float(Int(input[p * c + ch]))
                if let outputScale { x = x * outputScale[ch] }
                let scaled = x * scale[ch]
                output[p * c + ch] = scaled + shift[ch]
            }
        }
    }

    /// From floats.
    @_noAllocation @inline(never)
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
