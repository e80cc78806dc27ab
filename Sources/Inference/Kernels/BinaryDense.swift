import ModelFormat

// Binary dense layers (spec/FORMAT.md `dense` with bits weights): packed +/-1 weights `[m, words(n)]`
// times packed +/-1 activations or u8 input codes, giving i32 accumulators. Each optimized kernel has
// its plain reference beside it; tests require bit-exact agreement over shape grids.

/// Dense layers with binary weights.
public enum BinaryDenseKernel {
    /// Reference, bits input: A_o = sum_i x_i w_oi over +/-1 values, one value at a time.
    @_noAllocation
    public static func referenceBits(input: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                     output: UnsafeMutablePointer<Int32>) {
        let words = BitPacking.words(n)
        for o in 0..<m {
            var sum = 0
            for i in 0..<n { sum += BitPacking.value(input, i) * BitPacking.value(weights + o * words, i) }
            output[o] = Int32(sum)
        }
    }

    /// Optimized, bits input: A_o = n - 2 popcount(x XOR w_o), eight words at a time (Popcount.swift;
    /// padding bits are 0 in both).
    @_noAllocation
    public static func popcountBits(input: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                    output: UnsafeMutablePointer<Int32>) {
        let words = BitPacking.words(n)
        for o in 0..<m { output[o] = Int32(n - 2 * Popcount.xor(input, weights + o * words, words: words)) }
    }

    /// Reference, codes input: A_o = sum_i code_i * w_oi.
    @_noAllocation
    public static func referenceCodes(codes: UnsafePointer<UInt8>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                      output: UnsafeMutablePointer<Int32>) {
        let words = BitPacking.words(n)
        for o in 0..<m {
            var sum = 0
            for i in 0..<n { sum += Int(codes[i]) * BitPacking.value(weights + o * words, i) }
            output[o] = Int32(sum)
        }
    }

    /// Scratch words `bitplaneCodes` needs: `codeBits` planes of `words(n)`.
    @_noAllocation
    public static func bitplaneScratchWords(n: Int, codeBits: Int) -> Int { codeBits * BitPacking.words(n) }

    /// Optimized, codes input, by bit-planes: with code_i = sum_b 2^b c_bi and w_i = 1 - 2 wbit_i,
    /// A_o = sum_i code_i - 2 sum_b 2^b popcount(plane_b AND wbits_o). `planes` is scratch of
    /// `bitplaneScratchWords(n:codeBits:)` words.
    @_noAllocation
    public static func bitplaneCodes(codes: UnsafePointer<UInt8>, codeBits: Int, weights: UnsafePointer<UInt64>, n: Int,
                                     m: Int, planes: UnsafeMutablePointer<UInt64>, output: UnsafeMutablePointer<Int32>) {
        let words = BitPacking.words(n)
        planes.initialize(repeating: 0, count: codeBits * words)
        var total = 0
        for i in 0..<n {
            let c = Int(codes[i])
            total += c
            var b = 0
            var v = c
            while v != 0 {
                if v & 1 == 1 { planes[b * words + (i >> 6)] |= 1 << UInt64(i & 63) }
                v >>= 1
                b += 1
            }
        }
        for o in 0..<m {
            let row = weights + o * words
            var weighted = 0
            for b in 0..<codeBits {
                let plane = planes + b * words
                var count = 0
                for j in 0..<words { count &+= (plane[j] & row[j]).nonzeroBitCount }
                weighted += count << b
            }
            output[o] = Int32(total - 2 * weighted)
        }
    }
}
