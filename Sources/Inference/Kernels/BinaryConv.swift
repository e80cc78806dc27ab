import ModelFormat

// Binary 2-D convolution, stride 1, no padding (spec/FORMAT.md `conv2d` with bits weights), NHWC.
// Weights `[m, k, k, words(C)]`: each kernel position's C channels are a packed row. Bits input uses
// the `pixel` layout (each pixel's channels a packed row), so a kernel position is a word-aligned
// row against a word-aligned row.

/// Convolutions with binary weights.
public enum BinaryConvKernel {
    /// Reference, bits input: A[oy, ox, o] = sum over ky, kx, c of x * w, one +/-1 value at a time.
    @_noAllocation
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

    /// Optimized, bits input: per kernel position C - 2 popcount(x XOR w) over the channel words.
    @_noAllocation
    public static func popcountBits(input: UnsafePointer<UInt64>, h: Int, w: Int, c: Int, k: Int,
                                    weights: UnsafePointer<UInt64>, m: Int, output: UnsafeMutablePointer<Int32>) {
        let cw = BitPacking.words(c)
        let (oh, ow) = (h - k + 1, w - k + 1)
        let full = k * k * c
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<m {
                    var count = 0
                    for ky in 0..<k {
                        let x = input + ((oy + ky) * w + ox) * cw
                        let wr = weights + (o * k + ky) * k * cw
                        // A kernel row's k positions are k * cw consecutive words in both tensors.
                        for j in 0..<(k * cw) { count &+= (x[j] ^ wr[j]).nonzeroBitCount }
                    }
                    output[(oy * ow + ox) * m + o] = Int32(full - 2 * count)
                }
            }
        }
    }

    /// Reference, codes input: A = sum over the patch of code * w.
    @_noAllocation
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

    /// Scratch bytes `signedCodes` needs: the m * k * k * C weights as Int32 signs.
    @_noAllocation
    public static func signedScratchBytes(c: Int, k: Int, m: Int) -> Int { 4 * m * k * k * c }

    /// Optimized, codes input: the packed weights are unpacked once per call into +/-1 Int32 (in
    /// `signs`, scratch) so the inner loop is a plain multiply-add over contiguous patch rows.
    @_noAllocation
    public static func signedCodes(codes: UnsafePointer<UInt8>, h: Int, w: Int, c: Int, k: Int,
                                   weights: UnsafePointer<UInt64>, m: Int, signs: UnsafeMutablePointer<Int32>,
                                   output: UnsafeMutablePointer<Int32>) {
        let cw = BitPacking.words(c)
        let row = k * c
        for o in 0..<m {
            for ky in 0..<k {
                for kx in 0..<k {
                    let wr = weights + ((o * k + ky) * k + kx) * cw
                    for ch in 0..<c { signs[((o * k + ky) * k + kx) * c + ch] = Int32(BitPacking.value(wr, ch)) }
                }
            }
        }
        let (oh, ow) = (h - k + 1, w - k + 1)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<m {
                    var sum: Int32 = 0
                    for ky in 0..<k {
                        let x = codes + ((oy + ky) * w + ox) * c
                        let s = signs + (o * k + ky) * row
                        for j in 0..<row { sum &+= Int32(x[j]) &* s[j] }
                    }
                    output[(oy * ow + ox) * m + o] = sum
                }
            }
        }
    }
}
