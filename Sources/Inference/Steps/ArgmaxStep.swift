import ModelFormat

/// `argmax`: the class of each image (and its scores, when the caller asks) into the caller's memory.
enum ArgmaxStep {
    /// Runs (or records) the op at `k`; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        if s.run {
            run(&s, op: k)
        } else if recording {
            s.recordInPlace(.argmax, op: k, kernel: .argmax, output: -1)
        }
        return k + 1
    }

    /// The run pass: each image's class (and scores); image 0's is the result (`s` inout: passed by
    /// reference, not copied).
    @_noAllocation
    static func run(_ s: inout WalkState, op k: Int) {
        guard let input = s.input() else { return }
        let n = s.image.opParameter(k, 0)
        for b in 0..<s.count {
            let x = (input + b * s.stride).assumingMemoryBound(to: Float.self)
            if let scores = s.scores { for i in 0..<n { scores[b * n + i] = x[i] } }
            let best = ActivationKernel.argmax(x, count: n)
            if let classes = s.classes { classes[b] = best }
            if b == 0 { s.result = best }
        }
    }
}
