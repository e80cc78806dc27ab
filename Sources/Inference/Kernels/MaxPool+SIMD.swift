import ModelFormat

// The host's f32 max-pool (`Kernel.maxPoolF32SIMD`): eight channels per SIMD8 lane group, each lane the
// spec's scan (m = the window's (0, 0) value, then m = v where v > m, row-major), so a NaN at (0, 0)
// stays and a NaN elsewhere is skipped, exactly as `MaxPoolKernel.run` (FloatKernelTests). With c not a
// multiple of 8 the last group is the last eight channels (overlapping the one before: the same values
// written twice); fewer than eight channels run `run`. Not on 32-bit targets.

#if !_pointerBitWidth(_32)
extension MaxPoolKernel {
    /// Pools `input` (h x w x c floats) into (h/s) x (w/s) x c, as `run` does.
    @_noAllocation @inline(never)
    public static func simd(_ input: UnsafePointer<Float>, h: Int, w: Int, c: Int, s: Int, output: UnsafeMutablePointer<Float>) {
        guard c >= 8 else { return run(input, h: h, w: w, c: c, s: s, output: output) }
        let (oh, ow) = (h / s, w / s)
        let from = UnsafeRawPointer(input), to = UnsafeMutableRawPointer(output)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let first = 4 &* (((oy &* s) &* w &+ ox &* s) &* c), out = 4 &* ((oy &* ow &+ ox) &* c)
                var ch = 0
                while true {
                    var m = from.loadUnaligned(fromByteOffset: first &+ 4 &* ch, as: SIMD8<Float>.self)
                    for dy in 0..<s {
                        for dx in 0..<s where dy != 0 || dx != 0 {
                            let v = from.loadUnaligned(fromByteOffset: first &+ 4 &* ((dy &* w &+ dx) &* c &+ ch), as: SIMD8<Float>.self)
                            m.replace(with: v, where: v .> m)
                        }
                    }
                    to.storeBytes(of: m, toByteOffset: out &+ 4 &* ch, as: SIMD8<Float>.self)
                    if ch &+ 8 == c { break }
                    ch = min(ch &+ 8, c &- 8)
                }
            }
        }
    }
}
#endif
