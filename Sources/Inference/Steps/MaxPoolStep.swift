import ModelFormat

/// `maxpool2d` on its own (fused kernel sets pool a binary layer's accumulators before its
/// threshold_sign, in LayerStep): s x s windows of i32 or f32 values.
enum MaxPoolStep {
    /// Plans or runs the op at `k`; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        let size = s.image.opParameter(k, 3)
        let (oh, ow) = (s.h / size, s.w / size)
        let input = s.input(), inStride = s.stride
        s.stride = ArenaPlan.align(WalkState.bytes(s.kind, oh, ow, s.c, s.layout))
        let (out, _) = s.plan.place(inBytes: s.batch * inStride, outBytes: s.batch * s.stride, scratch: 0)
        let kernel = Kernel.choose(Kernel.Query(op: .maxpool2d, kernels: s.kernels, input: s.kind))
        if s.run, let input, let arena = s.arena {
            #if BITSHIELD_MINIMAL
            // No max-pool kernel in the minimal build: its reader refuses a maxpool2d (ModelImage.opView).
            _ = (input, arena)
            #else
            for b in 0..<s.count {
                let x = input + b * inStride, o = arena + out + b * s.stride
                if case .maxPoolI32 = kernel {
                    MaxPoolKernel.run(x.assumingMemoryBound(to: Int32.self), h: s.h, w: s.w, c: s.c, s: size,
                                      output: o.assumingMemoryBound(to: Int32.self))
                } else {
                    #if !_pointerBitWidth(_32)   // no SIMD kernels where pointers are 32 bits (KernelSet.resolve)
                    if case .maxPoolF32SIMD = kernel {
                        MaxPoolKernel.simd(x.assumingMemoryBound(to: Float.self), h: s.h, w: s.w, c: s.c, s: size,
                                           output: o.assumingMemoryBound(to: Float.self))
                        continue
                    }
                    #endif
                    MaxPoolKernel.run(x.assumingMemoryBound(to: Float.self), h: s.h, w: s.w, c: s.c, s: size,
                                      output: o.assumingMemoryBound(to: Float.self))
                }
            }
            #endif
        } else if recording {
            s.record(.maxPool, ops: k, k, kernel: kernel, output: out, outputBytes: s.batch * s.stride)
        }
        (s.h, s.w) = (oh, ow)
        return k + 1
    }
}
