import ModelFormat

/// `threshold_sign` on its own (fused kernel sets put it into the binary layer's sink, in LayerStep):
/// i32 accumulators into packed signs (the rule: Kernels/ThresholdSign.swift).
enum ThresholdSignStep {
    /// Plans or runs the op at `k`; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        let image = s.image
        let outLayout = BitLayout(rawValue: UInt32(image.opParameter(k, 5)))!
        let input = s.input(), inStride = s.stride
        s.stride = ArenaPlan.align(WalkState.bytes(.bits, s.h, s.w, s.c, outLayout))
        let (out, _) = s.plan.place(inBytes: s.batch * inStride, outBytes: s.batch * s.stride, scratch: 0)
        if s.run, let input, let arena = s.arena {
            for b in 0..<s.count {
                ThresholdSignKernel.run((input + b * inStride).assumingMemoryBound(to: Int32.self), h: s.h, w: s.w, c: s.c,
                                        thresholds: image.data(image.opParameter(k, 3)).assumingMemoryBound(to: Int32.self),
                                        flips: image.data(image.opParameter(k, 4)).assumingMemoryBound(to: UInt8.self), layout: outLayout,
                                        output: (arena + out + b * s.stride).assumingMemoryBound(to: UInt64.self))
            }
        } else if recording {
            s.record(.thresholdSign, ops: k, k, kernel: .thresholdSign, output: out, outputBytes: s.batch * s.stride)
        }
        s.kind = .bits
        s.layout = outLayout
        return k + 1
    }
}
