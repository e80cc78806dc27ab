// spec/FORMAT.md `maxpool2d`: the maximum of each s x s window (windows do not overlap; the rows and
// columns past the last whole window are dropped), per channel, NHWC; the first maximum wins, so a NaN
// in a window's first slot stays.

/// Max-pooling over s x s windows, NHWC, for accumulators and floats (first maximum wins). Two
/// concrete copies, not one generic: generic code may allocate metadata, which invoke must not.
public enum MaxPoolKernel {
    /// Pools `input` (h x w x c accumulators) into (h/s) x (w/s) x c.
    @_noAllocation @inline(never)
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
    @_noAllocation @inline(never)
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
