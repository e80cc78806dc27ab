import ModelFormat

/// `affine` (a float layer's BatchNorm, or a binary layer's output scale): i32 or f32 in, f32 out, in
/// place, element by element; places nothing in the arena.
enum AffineStep {
    /// Runs (or records) the op at `k`; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        if s.run {
            run(&s, op: k, kernel: Kernel.choose(Kernel.Query(op: .affine, kernels: s.kernels, input: s.kind)))
        } else if recording {
            s.recordInPlace(.affine, op: k, kernel: Kernel.choose(Kernel.Query(op: .affine, kernels: s.kernels, input: s.kind)))
        }
        s.kind = .f32
        return k + 1
    }

    /// The run pass: the affine map on each image's value, in place (`s` inout: passed by reference, not copied).
    @_noAllocation
    static func run(_ s: inout WalkState, op k: Int, kernel: Kernel) {
        guard let input = s.input() else { return }
        let image = s.image
        let outputScale: UnsafePointer<Float>? = image.opParameter(k, 3) == 0 ? nil
            : image.data(image.opParameter(k, 3) - 1).assumingMemoryBound(to: Float.self)
        let scale = image.data(image.opParameter(k, 4)).assumingMemoryBound(to: Float.self)
        let shift = image.data(image.opParameter(k, 5)).assumingMemoryBound(to: Float.self)
        for b in 0..<s.count {
            let x = input + b * s.stride
            let o = UnsafeMutableRawPointer(mutating: x).assumingMemoryBound(to: Float.self)
            if case .affineI32 = kernel {
                AffineKernel.run(x.assumingMemoryBound(to: Int32.self), pixels: s.h * s.w, c: s.c, outputScale: outputScale,
                                 scale: scale, shift: shift, output: o)
            } else {
                AffineKernel.run(x.assumingMemoryBound(to: Float.self), pixels: s.h * s.w, c: s.c, outputScale: outputScale,
                                 scale: scale, shift: shift, output: o)
            }
        }
    }
}
