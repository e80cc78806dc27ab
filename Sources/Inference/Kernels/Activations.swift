// spec/FORMAT.md `hardtanh`, `relu` and `argmax`, on f32 values.

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
