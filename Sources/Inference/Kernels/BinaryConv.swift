import ModelFormat

// Reference kernels of binary 2-D convolution, stride 1, no padding (spec/FORMAT.md `conv2d` with bits
// weights), NHWC, one value at a time. The optimized kernels are XorConv32Kernel
// (XorConv32.swift: bits input) and PlaneConv32Kernel (PlaneConv32.swift: codes formed from the pixels).
// Weights `[m, k, k, words(C)]`: each kernel position's C channels are a packed row. Bits input uses
// the `pixel` layout (each pixel's channels a packed row), so a kernel position is a word-aligned
// row against a word-aligned row.

/// Reference convolutions with binary weights.
public enum BinaryConvKernel {
    /// Reference, bits input: A[oy, ox, o] = sum over ky, kx, c of x * w, one +/-1 value at a time.
    @_noAllocation @inline(never)
    public static func referenceBits(input: UnsafePointer<UInt64>, h: Int, w: Int, c: Int, k: Int,
                                     weights: UnsafePointer<UInt64>, m: Int, output: UnsafeMutablePointer<Int32>) {
        let cw = BitPacking.words(c)
        let (oh, ow) = (h - k + 1, w - k + 1)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<m {
                    var sum = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let x = input + ((oy + ky) * w + ox + kx) * cw
                            let wr = weights + ((o * k + ky) * k + kx) * cw
                            for ch in 0..<c { sum += BitPacking.value(x, ch) * BitPacking.value(wr, ch) }
                        }
                    }
                    output[(oy * ow + ox) * m + o] = Int32(sum)
                }
            }
        }
    }

    /// Reference, codes input: A = sum over the patch of code * w.
    @_noAllocation @inline(never)
    public static func referenceCodes(codes: UnsafePointer<UInt8>, h: Int, w: Int, c: Int, k: Int,
                                      weights: UnsafePointer<UInt64>, m: Int, output: UnsafeMutablePointer<Int32>) {
        let cw = BitPacking.words(c)
        let (oh, ow) = (h - k + 1, w - k + 1)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<m {
                    var sum = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let wr = weights + ((o * k + ky) * k + kx) * cw
                            for ch in 0..<c {
                                sum += Int(codes[((oy + ky) * w + ox + kx) * c + ch]) * BitPacking.value(wr, ch)
                            }
                        }
                    }
                    output[(oy * ow + ox) * m + o] = Int32(sum)
                }
            }
        }
    }
}
