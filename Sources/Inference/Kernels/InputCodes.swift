import ModelFormat

/// The input quantizer (the paper's Eq. 2 as integer codes, spec/FORMAT.md `input_codes`).
public enum InputCodesKernel {
    /// codes[i] = 2 * (pixels[i] >> (8 - bits)) + 1, or the pixel when bits = 8 (ModelFormat's `InputCodes`).
    @_noAllocation @inline(never)
    public static func run(pixels: UnsafePointer<UInt8>, count: Int, bits: Int, codes: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count { codes[i] = InputCodes.code(pixels[i], delta: bits) }
    }
}
