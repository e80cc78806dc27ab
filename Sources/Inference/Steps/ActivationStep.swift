import ModelFormat

/// `hardtanh` and `relu`: f32 in place; places nothing in the arena.
enum ActivationStep {
    /// Runs (or records) the op at `k`; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int) -> Int {
        let op = s.image.opKind(k)
        if s.run, let input = s.input() {
            let n = s.image.opParameter(k, 0)
            for b in 0..<s.count {
                let x = UnsafeMutableRawPointer(mutating: input + b * s.stride).assumingMemoryBound(to: Float.self)
                if op == .hardtanh { ActivationKernel.hardtanh(x, count: n) } else { ActivationKernel.relu(x, count: n) }
            }
        } else {
            s.recordInPlace(.activation, op: k, kernel: Kernel.choose(Kernel.Query(op: op, kernels: s.kernels, input: s.kind)))
        }
        return k + 1
    }
}
