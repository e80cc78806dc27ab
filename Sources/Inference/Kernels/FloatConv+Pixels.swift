import ModelFormat

// The host's float conv (`Kernel.floatConvSIMD`): eight output pixels per SIMD8 lane group, four filters at
// a time, each output summed in exactly the reference's order (spec/FORMAT.md, "Float summation order":
// s = +0, then s = s + x·w for (ky, kx, c) in order; a product and a sum per term, never fused), so its
// results equal `FloatConvKernel.reference`'s bit for bit (KernelTests).
//
// The input is first copied into the scratch as channel planes (CHW, `planes`). An output (oy, ox) is then
// position q = oy·w + ox of a plane, and its term (ky, kx, c) reads plane c at q + ky·w + kx: eight
// consecutive positions are one unaligned SIMD8 load per term, shared by the four filters. Positions run
// over the whole input width (0 ≤ ox < w, the k − 1 columns past each row's last output computed and not
// stored), so each row's lanes continue into the next row; the largest position holding an output is
// (oh − 1)·w + ow − 1, whose last term reads the plane's last element, so the last lane group reads at
// most `lanes` − 1 floats past the last plane: the scratch holds `lanes` floats more, zeroed.
// Not on 32-bit targets (the firmware keeps the reference, KernelSet.resolve).

#if !_pointerBitWidth(_32)
extension FloatConvKernel {
    /// Output positions per lane group.
    public static let lanes = 8

    /// Scratch bytes for an input of `n` = h·w·c elements: the planes and the lane group's over-read.
    @_noAllocation @inline(__always)
    public static func scratchBytes(n: Int) -> Int { 4 &* (n &+ lanes) }

    /// Copies an NHWC map (f32, codes as their integer values, or flat ±1 bits) into channel planes
    /// `p[ch·h·w + pixel]`, then zeroes the `lanes` floats after them.
    @_noAllocation @inline(never)
    public static func planes(_ x: UnsafeRawPointer, kind: ValueKind, pixels: Int, c: Int, into p: UnsafeMutablePointer<Float>) {
        switch kind {
        case .f32:
            let f = x.assumingMemoryBound(to: Float.self)
            for i in 0..<pixels { for ch in 0..<c { p[ch &* pixels &+ i] = f[i &* c &+ ch] } }
        case .bits:
            let b = x.assumingMemoryBound(to: UInt64.self)
            for i in 0..<pixels { for ch in 0..<c { p[ch &* pixels &+ i] = Float(BitPacking.value(b, i &* c &+ ch)) } }
        default:
            let u = x.assumingMemoryBound(to: UInt8.self)
            for i in 0..<pixels { for ch in 0..<c { p[ch &* pixels &+ i] = Float(u[i &* c &+ ch]) } }
        }
        (p + pixels &* c).initialize(repeating: 0, count: lanes)
    }

    /// Optimized: `x` the input as `planes` wrote it (h·w·c + `lanes` floats), weights `[m, k, k, c]`,
    /// output NHWC `[(h − k + 1), (w − k + 1), m]`.
    @_noAllocation @inline(never)
    public static func simd(planes x: UnsafePointer<Float>, h: Int, w: Int, c: Int, k: Int,
                            weights: UnsafePointer<Float>, m: Int, output: UnsafeMutablePointer<Float>) {
        let ow = w &- k &+ 1, hw = h &* w, r = k &* k &* c
        let span = (h &- k) &* w &+ ow   // positions 0 ..< span hold every output
        let xr = UnsafeRawPointer(x)
        var o = 0
        while o < m {
            // Four filters; past the last one, the last filter again (computed, not stored).
            let w0 = weights + o &* r, w1 = weights + min(o &+ 1, m &- 1) &* r
            let w2 = weights + min(o &+ 2, m &- 1) &* r, w3 = weights + min(o &+ 3, m &- 1) &* r
            var q = 0, oy = 0, ox = 0
            while q < span {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var i = 0
                for ky in 0..<k {
                    for kx in 0..<k {
                        var at = 4 &* (q &+ ky &* w &+ kx)
                        for _ in 0..<c {
                            let v = xr.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                            a0 += v * SIMD8(repeating: w0[i])
                            a1 += v * SIMD8(repeating: w1[i])
                            a2 += v * SIMD8(repeating: w2[i])
                            a3 += v * SIMD8(repeating: w3[i])
                            i &+= 1
                            at &+= 4 &* hw
                        }
                    }
                }
                // Store the lanes that are outputs: position q + j is (oy, ox) stepped along the row.
                let filters = min(4, m &- o)
                for j in 0..<lanes where q &+ j < span {
                    if ox < ow {
                        let out = output + ((oy &* ow &+ ox) &* m &+ o)
                        out[0] = a0[j]
                        if filters > 1 { out[1] = a1[j] }
                        if filters > 2 { out[2] = a2[j] }
                        if filters > 3 { out[3] = a3[j] }
                    }
                    ox &+= 1
                    if ox == w { ox = 0; oy &+= 1 }
                }
                q &+= lanes
            }
            o &+= 4
        }
    }
}
#endif
