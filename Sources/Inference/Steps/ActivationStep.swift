import ModelFormat

/// `hardtanh` and `relu`: f32 in place; places nothing in the arena.
enum ActivationStep {
    /// Runs (or records) the op at `k`; returns the next op. Plain planning passes skip the run of
    /// activations (a model may hold a thousand: `init`'s instruction count on the device is pinned).
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        if s.run {
            run(&s, op: k)
        } else if recording {
            s.recordInPlace(.activation, op: k, kernel: Kernel.choose(Kernel.Query(op: s.image.opKind(k), kernels: s.kernels, input: s.kind)))
        } else {
            return skip(s.image, from: k + 1)
        }
        return k + 1
    }

    /// The op after the in-place activations from `j` on: a plain planning pass has nothing to do for them.
    @_noAllocation @inline(__always)
    static func skip(_ image: ModelImage, from j: Int) -> Int {
        var j = j
        let ops = image.opCount
        while j < ops {
            switch image.opKind(j) {
            case .hardtanh, .relu: j += 1
            default: return j
            }
        }
        return j
    }

    /// The run pass: the activation on each image's value (`s` inout: passed by reference, not copied).
    @_noAllocation
    static func run(_ s: inout WalkState, op k: Int) {
        guard let input = s.input() else { return }
        let n = s.image.opParameter(k, 0), relu = s.image.opKind(k) == .relu
        for b in 0..<s.count {
            let x = UnsafeMutableRawPointer(mutating: input + b * s.stride).assumingMemoryBound(to: Float.self)
            if relu { ActivationKernel.relu(x, count: n) } else { ActivationKernel.hardtanh(x, count: n) }
        }
    }
}
