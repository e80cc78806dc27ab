import ModelFormat

/// `input_codes` (spec/FORMAT.md; the Eq. 2 rule in ModelFormat's InputCodes.swift). Fused kernel sets
/// leave it to the binary layer after it, which forms the codes from the pixels itself (`pendingCodeBits`);
/// otherwise the codes are written to the arena.
enum InputCodesStep {
    /// Plans, prepares or runs the op at `k` (one path for the three passes); returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        let image = s.image, ops = image.opCount
        let next = k + 1 < ops ? image.opKind(k + 1) : .argmax
        let nextReadsCodes = (next == .dense && image.opParameter(k + 1, 3) == Int(InputKind.codes.rawValue))
            || (next == .conv2d && image.opParameter(k + 1, 6) == Int(InputKind.codes.rawValue))
        let nextIsBinary = nextReadsCodes && image.isBits(image.opParameter(k + 1, next == .dense ? 2 : 5))
        if s.fuse() && nextIsBinary {
            s.pendingCodeBits = image.opParameter(k, 0)     // the layer forms the codes itself
            return k + 1
        }
        let input = s.input(), inStride = s.stride, n = s.h * s.w * s.c
        s.stride = ArenaPlan.align(n)
        let (out, _) = s.plan.place(inBytes: s.batch * inStride, outBytes: s.batch * s.stride, scratch: 0)
        if s.run, let input, let arena = s.arena {
            for b in 0..<s.count {
                InputCodesKernel.run(pixels: (input + b * inStride).assumingMemoryBound(to: UInt8.self), count: n,
                                     bits: image.opParameter(k, 0), codes: (arena + out + b * s.stride).assumingMemoryBound(to: UInt8.self))
            }
        } else if recording {
            s.record(.inputCodes, ops: k, k, kernel: .inputCodes, output: out, outputBytes: s.batch * s.stride)
        }
        s.kind = .codes
        return k + 1
    }
}
