import ModelFormat

// Reference kernels of binary dense layers (spec/FORMAT.md `dense` with bits or bits8 weights): packed
// +/-1 weights `[m, words(n)]` times packed +/-1 activations or u8 input codes, one value at a time,
// giving i32 accumulators. The weights are read through `PackedRows`, so both layouts have one
// definition. The optimized kernels are BlockedDenseKernel (bits8) and FusedDenseKernel (bits);
// KernelTests require bit-exact agreement over shape grids, and the runtime's reference mode runs these.

/// Reference dense layers with binary weights.
public enum BinaryDenseKernel {
    /// Reference, bits input: A_o = sum_i x_i w_oi over +/-1 values, one value at a time.
    @_noAllocation @inline(never)
    public static func referenceBits(input: UnsafePointer<UInt64>, weights: PackedRows, n: Int, m: Int,
                                     output: UnsafeMutablePointer<Int32>) {
        for o in 0..<m {
            var sum = 0
            for i in 0..<n { sum += BitPacking.value(input, i) * weights.value(o, i) }
            output[o] = Int32(sum)
        }
    }

    /// Reference, codes input: A_o = sum_i code_i * w_oi.
    @_noAllocation @inline(never)
    public static func referenceCodes(codes: UnsafePointer<UInt8>, weights: PackedRows, n: Int, m: Int,
                                      output: UnsafeMutablePointer<Int32>) {
        for o in 0..<m {
            var sum = 0
            for i in 0..<n { sum += Int(codes[i]) * weights.value(o, i) }
            output[o] = Int32(sum)
        }
    }
}
