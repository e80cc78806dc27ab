import ModelFormat

// Widening: a float layer reads 8-bit codes or packed +/-1 bits as floats (the runtime's only
// conversion into f32 before a float dense or conv kernel, FloatLayers.swift), into the step's scratch.

/// Widening inputs to f32.
public enum WidenKernel {
    /// f[i] = Float(codes[i]).
    @_noAllocation
    public static func codes(_ codes: UnsafePointer<UInt8>, count: Int, into f: UnsafeMutablePointer<Float>) {
        for i in 0..<count { f[i] = Float(codes[i]) }
    }

    /// f[i] = +/-1 from a `flat` packed row.
    @_noAllocation
    public static func bits(_ bits: UnsafePointer<UInt64>, count: Int, into f: UnsafeMutablePointer<Float>) {
        for i in 0..<count { f[i] = Float(BitPacking.value(bits, i)) }
    }
}
