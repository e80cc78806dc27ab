import ModelFormat

/// A weight layer (`dense` or `conv2d`) with what fuses into it: with a fused kernel set, a binary
/// layer takes the input_codes before it (`pendingCodeBits`: it forms the codes from the pixels) and
/// the [maxpool] + threshold_sign after it (its accumulators go straight into packed signs). Plans the
/// output, the scratch and the persistent data the chosen kernel needs (KernelChoice.swift), fills the
/// persistent data in the prepare pass, and runs BinaryLayerStep or FloatLayerStep.
enum LayerStep {
    /// Plans, prepares or runs the layer at `k` and what fuses into it; returns the next op.
    @_noAllocation @inline(__always)
    static func step(_ s: inout WalkState, op k: Int, recording: Bool) -> Int {
        let image = s.image
        let isDense = image.opKind(k) == .dense
        let m = isDense ? image.opParameter(k, 1) : image.opParameter(k, 4)
        let size = isDense ? 1 : image.opParameter(k, 3)
        let weightIndex = isDense ? image.opParameter(k, 2) : image.opParameter(k, 5)
        let binary = image.isBits(weightIndex)
        #if BITSHIELD_MINIMAL   // no columns32s (its reader refuses it)
        let weightType: TensorType = image.isColumns(weightIndex) ? .columns32 : image.isBlocked(weightIndex) ? .bits8 : binary ? .bits : .f32
        #else
        let weightType: TensorType = image.isColumns(weightIndex) ? (image.hasBounds(weightIndex) ? .columns32s : .columns32)
            : image.isBlocked(weightIndex) ? .bits8 : binary ? .bits : .f32
        #endif
        let (oh, ow) = isDense ? (1, 1) : (s.h - size + 1, s.w - size + 1)
        // Ternary weights (w = (u + v) / 2): a one-pass kernel where the choice has one (64-bit hosts), else the
        // binary kernel runs on each plane into scratch, so it never fuses the signs.
        let lower = isDense && binary ? image.lowerPlane(k) : -1
        let (pool, thresholdOp) = fusion(s, op: k, binary: binary)
        let (fh, fw) = (oh / pool, ow / pool)
        let outLayout = thresholdOp >= 0 ? BitLayout(rawValue: UInt32(image.opParameter(thresholdOp, 5)))! : .flat
        let outKind: ValueKind = thresholdOp >= 0 ? .bits : (binary ? .i32 : .f32)
        let n = isDense ? image.opParameter(k, 0) : s.h * s.w * s.c
        #if _pointerBitWidth(_32)   // the device's code as it was: every ternary layer on two planes
        let query = Kernel.Query(op: isDense ? .dense : .conv2d, weights: weightType, kernels: s.kernels, input: s.kind,
                                 codeBits: s.pendingCodeBits, signs: thresholdOp >= 0 && lower < 0, n: n)
        let kernel = Kernel.choose(query)
        let split = lower
        #else
        var query = Kernel.Query(op: isDense ? .dense : .conv2d, weights: weightType, kernels: s.kernels, input: s.kind,
                                 codeBits: s.pendingCodeBits, signs: thresholdOp >= 0, n: n)
        query.ternary = lower >= 0
        let kernel = Kernel.choose(query)
        let split = kernel.readsBothPlanes ? -1 : lower
        #endif
        // `split`: the lower plane of a ternary layer whose kernel runs on each plane in turn, else -1.
        let scratchStride = ArenaPlan.align(kernel.scratchBytes(query, m: m, size: size, channels: s.c))
        let sumsStride = split >= 0 ? ArenaPlan.align(4 * m) : 0   // one plane's accumulators of one image
        let rowCountsAt = persist(&s, kernel: kernel, query, weights: weightIndex, lower: lower, m: m)
        let lowerRowCountsAt = split >= 0 ? persist(&s, kernel: kernel, query, weights: split, m: m) : -1
        let input = s.input(), inStride = s.stride
        s.stride = ArenaPlan.align(WalkState.bytes(outKind, fh, fw, m, outLayout))
        let scratchBytes = s.batch * (scratchStride + 2 * sumsStride)
        let (out, sc) = s.plan.place(inBytes: s.batch * inStride, outBytes: s.batch * s.stride, scratch: scratchBytes)
        if s.run, let input, let arena = s.arena {
            let operands = LayerOperands(input: input, inStride: inStride, output: arena + out, stride: s.stride, scratch: arena + sc,
                                         scratchStride: scratchStride, weights: image.data(weightIndex), weightType: weightType,
                                         n: n, m: m, size: size, h: s.h, w: s.w, c: s.c, codeBits: s.pendingCodeBits, inputKind: s.kind)
            if binary {
                let rowCounts = rowCountsAt < 0 ? nil : UnsafePointer((arena + rowCountsAt).assumingMemoryBound(to: UInt16.self))
                let target = sink(s, operands, thresholdOp: thresholdOp, layout: outLayout)
                // One call site of the (inlined) binary step for both planes of a ternary layer: the firmware's code once.
                let sums = arena + sc + s.batch * scratchStride
                #if _pointerBitWidth(_32)
                let passes = split >= 0 ? 2 : 1
                #else
                // A one-pass ternary kernel takes the layer here; the binary step then runs no pass.
                if kernel.readsBothPlanes {
                    TernaryLayerStep.run(kernel, query, operands, lower: image.data(lower), count: s.count, sink: target, rowCounts: rowCounts)
                }
                let passes = kernel.readsBothPlanes ? 0 : split >= 0 ? 2 : 1
                #endif
                for plane in 0..<passes {
                    let counts = plane == 0 ? rowCounts
                        : lowerRowCountsAt < 0 ? nil : UnsafePointer((arena + lowerRowCountsAt).assumingMemoryBound(to: UInt16.self))
                    BinaryLayerStep.run(kernel, query, split < 0 ? operands : TernaryLayerStep.plane(plane, operands, lower: image.data(split),
                                                                                                   sums: sums, sumsStride: sumsStride, count: s.count),
                                        count: s.count, pool: pool, sink: split < 0 ? target : TernaryLayerStep.sink(plane, sums: sums, sumsStride: sumsStride,
                                                                                                                   count: s.count), rowCounts: counts)
                }
                if split >= 0 { TernaryLayerStep.combine(sums: sums, sumsStride: sumsStride, count: s.count, m: m, stride: s.stride, sink: target) }
            } else {
                #if !BITSHIELD_MINIMAL   // no float kernels in the minimal build: its C API refuses float layers at init
                let bias: UnsafePointer<Float>? = !isDense || image.opParameter(k, 5) == 0 ? nil
                    : image.data(image.opParameter(k, 5) - 1).assumingMemoryBound(to: Float.self)
                FloatLayerStep.run(kernel, query, operands, count: s.count, bias: bias)
                #endif
            }
        } else if recording {
            let keep = keptBytes(s, kernel, query, m: m)
            s.record(lower >= 0 ? .ternaryLayer : binary ? .binaryLayer : .floatLayer, ops: s.pendingCodeBits > 0 ? k - 1 : k,
                     thresholdOp >= 0 ? thresholdOp : k, kernel: kernel, output: out, outputBytes: s.batch * s.stride,
                     scratch: scratchBytes > 0 ? sc : -1, scratchBytes: scratchBytes, persistent: keep > 0 ? rowCountsAt : -1,
                     persistentBytes: split >= 0 ? 2 * keep : keep)
        }
        s.kind = outKind
        (s.h, s.w, s.c) = (fh, fw, m)
        s.layout = outLayout
        s.pendingCodeBits = 0
        return thresholdOp >= 0 ? thresholdOp + 1 : k + 1
    }

    /// What fuses after a binary layer with a fused kernel set: (pool size, 1 for none; the
    /// threshold_sign op, -1 for none). A maxpool fuses only when a threshold_sign follows it.
    @_noAllocation @inline(__always)
    static func fusion(_ s: WalkState, op k: Int, binary: Bool) -> (pool: Int, thresholdOp: Int) {
        var pool = 1, thresholdOp = -1
        if s.fuse() && binary {
            let image = s.image, ops = image.opCount
            var j = k + 1
            if j < ops && image.opKind(j) == .maxpool2d { pool = image.opParameter(j, 3); j += 1 }
            if j < ops && image.opKind(j) == .thresholdSign { thresholdOp = j } else { pool = 1 }
        }
        return (pool, thresholdOp)
    }

    /// Plans the kernel's persistent data after the steps so far and fills it in the prepare pass;
    /// returns its offset, or -1 for none. The row counts of `weights` (planeRowCounts), or with a kernel
    /// that reads both planes of a ternary layer (`lower` its lower plane) their non-zero weights per row
    /// (ternaryRowCounts; on codes, ternaryPlaneRowCounts).
    @_noAllocation @inline(__always)
    static func persist(_ s: inout WalkState, kernel: Kernel, _ query: Kernel.Query, weights: Int, lower: Int = -1, m: Int) -> Int {
        let keep = keptBytes(s, kernel, query, m: m)
        guard keep > 0 else { return -1 }
        let at = s.persistentAt
        s.persistentAt += keep
        if s.prepare, let arena = s.arena {
            let counts = (arena + at).assumingMemoryBound(to: UInt16.self)
            #if !_pointerBitWidth(_32)
            if kernel.readsBothPlanes {
                let u = s.image.data(weights).assumingMemoryBound(to: UInt64.self), v = s.image.data(lower).assumingMemoryBound(to: UInt64.self)
                switch kernel {
                case .blockedPlanesTernary, .blockedPlanesTernary4:
                    BlockedDenseKernel.ternaryPlaneRowCounts(upper: u, lower: v, n: query.n, m: m, into: counts)
                default: BlockedDenseKernel.ternaryRowCounts(upper: u, lower: v, n: query.n, m: m, into: counts)
                }
                return at
            }
            #endif
            BlockedDenseKernel.planeRowCounts(weights: s.image.data(weights).assumingMemoryBound(to: UInt64.self), n: query.n, m: m,
                                              into: counts)
        }
        return at
    }

    /// The persistent bytes of the layer (KernelChoice's `persistentBytes`): of `kernel`, or on 64-bit
    /// targets in a batch plan (batch >= 4) of the four-image kernel the layer runs first, whose row
    /// counts the leftover images' one-image kernel reads too. On 32-bit targets exactly `kernel`'s (the
    /// device's code and instruction pins unchanged).
    @_noAllocation @inline(__always)
    static func keptBytes(_ s: WalkState, _ kernel: Kernel, _ query: Kernel.Query, m: Int) -> Int {
        #if _pointerBitWidth(_32)
        return kernel.persistentBytes(query, m: m)
        #else
        guard s.batch >= 4 else { return kernel.persistentBytes(query, m: m) }
        var four = query
        four.four = true
        return Kernel.choose(four).persistentBytes(four, m: m)
        #endif
    }

    /// Where the layer's accumulators go: packed signs (threshold_sign fused in; the output words of
    /// every image zeroed first) or i32.
    @_noAllocation @inline(__always)
    static func sink(_ s: WalkState, _ o: LayerOperands, thresholdOp: Int, layout: BitLayout) -> AccumulatorSink {
        guard thresholdOp >= 0 else { return .accumulators(o.output.assumingMemoryBound(to: Int32.self)) }
        let bitsOut = o.output.assumingMemoryBound(to: UInt64.self)
        bitsOut.initialize(repeating: 0, count: s.count * o.stride / 8)
        let image = s.image
        return .signs(thresholds: image.data(image.opParameter(thresholdOp, 3)).assumingMemoryBound(to: Int32.self),
                      flips: image.data(image.opParameter(thresholdOp, 4)).assumingMemoryBound(to: UInt8.self),
                      layout: layout, channels: o.m, bits: bitsOut)
    }
}

/// A layer's operands in the run pass: image 0's input, output and scratch, and the bytes from one
/// image's to the next; the weights; the shapes (input h x w x c, kernel size x size, n inputs per
/// output, m outputs); input codes to form (`codeBits` > 0) and the input's kind.
struct LayerOperands {
    let input: UnsafeRawPointer
    let inStride: Int
    var output: UnsafeMutableRawPointer
    var stride: Int
    let scratch: UnsafeMutableRawPointer
    let scratchStride: Int
    var weights: UnsafeRawPointer
    let weightType: TensorType
    let n: Int, m: Int, size: Int, h: Int, w: Int, c: Int
    let codeBits: Int
    let inputKind: ValueKind
}
