import ModelFormat

// The runtime (TensorFlow Lite Micro's shape): the caller owns the model image and the arena.
// `prepare` validates the image and plans the arena; `invoke` then runs without allocating and
// without validating again.
//
// Arena: `ArenaPlan` (ArenaPlan.swift) places every value and scratch; no plan is stored, `walk`
// recomputes it in each pass. The input image and the output scores are the caller's, not in the arena.
//
// Persistent data: with the carry-save kernels (the default where pointers are 32 bits), a first
// dense layer on 2-bit input codes reads the bit count of each weight row (u16 per row, planned at the
// start of the arena, filled once by `init`: TensorFlow Lite Micro's persistent buffers); the
// activations live in the rest of the arena. With the other kernels nothing persists and the arena is
// activations and scratch only. Dense layers on `columns32` weights need no persistent data (the image
// stores each row's count): their scratch is the column list and the bit-sliced counters.
//
// Batches: an interpreter prepared for a batch of B images holds B values per step, each 16-byte
// aligned, one after the other. Every op runs image by image, except dense layers on bits8 weights,
// which take four images per pass over the weights (BlockedDenseKernel.bits4 and planes4), so each
// weight vector is loaded once for four images. A batch of one is the single-image arena.

/// Which kernels `invoke` uses.
public enum KernelSet: Sendable {
    /// Plain loops on +/-1 integers (the definition; slow).
    case reference
    /// The fastest kernels for this target (the default): `simd` where pointers are 64 bits,
    /// `carrySave` where they are 32 bits.
    case optimized
    /// SIMD8 popcount and bit-plane kernels, four images per pass over `bits8` weights (64-bit targets;
    /// fastest with a popcount instruction).
    case simd
    /// Harley-Seal carry-save counts on 32-bit words, one image at a time, with the bit counts of a
    /// first layer's weight rows kept in the arena's persistent region (CPUs without popcount: the
    /// Cortex-M firmware). Runs on every target, so host tests check it and hosts can plan a device's arena.
    case carrySave

    /// `optimized` made concrete for this target. Where pointers are 32 bits every fast kernel set is
    /// `carrySave` (so the SIMD kernels are compiled out of the firmware); elsewhere `optimized` is `simd`.
    @inlinable public var resolved: KernelSet {
        #if _pointerBitWidth(_32)
        return self == .reference ? .reference : .carrySave
        #else
        return self == .optimized ? .simd : self
        #endif
    }
}

/// Memory the model needs, as planned by `prepare`.
public struct Footprint: Equatable, Sendable {
    /// Bytes of the model image.
    public var imageBytes: Int
    /// Bytes of the arena (activations and scratch), exact.
    public var arenaBytes: Int
    /// Bytes of the caller's input image.
    public var inputBytes: Int
    /// Bytes of the caller's output scores (f32 per class).
    public var outputBytes: Int
    /// The largest scratch any step uses.
    public var maxScratchBytes: Int
}

/// A prepared model over a caller-owned image and arena.
public struct Interpreter {
    /// The validated image.
    public let image: ModelImage
    /// The planned footprint.
    public let footprint: Footprint
    /// Kernels used by `invoke`, resolved for this target (fixed at prepare: the arena is planned for them).
    public let kernels: KernelSet
    /// Images per `invoke(batch:)` call at most (the arena is planned for them).
    public let batch: Int
    private let arena: UnsafeMutableRawPointer
    private let arenaBytes: Int
    /// Bytes at the start of the arena that `init` fills and `invoke` reads (32-bit targets).
    private let persistentBytes: Int

    /// Whether planning `image` for `batch` images stays inside `Int` with room to spare, so no size in
    /// `walk` can overflow (on 32-bit targets too). Per image, a step holds its input and output values
    /// (each at most 4 x `largestValue` + 16 bytes) and its scratch (at most 4n + 4m + 256: widened
    /// inputs, bit-planes, column lists and counters, conv accumulators), plus the persistent row counts
    /// (2 per output row): all under 32 x (`largestValue` + 64). The check asks that this times `batch`
    /// be at most Int.max / 4.
    public static func planFits(_ image: ModelImage, batch: Int) -> Bool {
        planFits(largestValue: image.largestValue, batch: batch, limit: Int.max / 4)
    }

    /// The rule of `planFits(_:batch:)` for a target whose sizes stop at `limit`.
    static func planFits(largestValue: Int, batch: Int, limit: Int) -> Bool {
        let (perImage, o1) = largestValue.addingReportingOverflow(64)
        let (bytes, o2) = perImage.multipliedReportingOverflow(by: 32)
        let (all, o3) = bytes.multipliedReportingOverflow(by: max(batch, 1))
        return !o1 && !o2 && !o3 && all <= limit
    }

    /// Arena bytes `image` needs with `kernels` for batches of up to `batch` images (plans without an
    /// arena), or `Int.max` when the plan does not fit in `Int` (`planFits`; `init` refuses such an image).
    public static func arenaBytes(for image: ModelImage, kernels: KernelSet = .optimized, batch: Int = 1) -> Int {
        guard planFits(image, batch: batch) else { return Int.max }
        return walk(image, kernels: kernels, batch: max(batch, 1), arena: nil, arenaBytes: 0, persistent: 0, pixels: nil, count: 0,
             classes: nil, scores: nil).arena
    }

    /// Validates `image` and plans `arena` for batches of up to `batch` images.
    /// - Throws: `format` for a bad image, `arenaTooSmall` with both sizes, `arenaMisaligned`, `badBatch`.
    public init(image bytes: UnsafeRawBufferPointer, arena: UnsafeMutableRawBufferPointer,
                kernels: KernelSet = .optimized, batch: Int = 1) throws(InferenceError) {
        let image: ModelImage
        do { image = try ModelImage(bytes: bytes) } catch { throw .format(error) }
        guard batch >= 1, batch <= 4096 else { throw .badBatch(batch) }
        guard Interpreter.planFits(image, batch: batch) else { throw .planOverflow(largestValue: image.largestValue, batch: batch) }
        guard let base = arena.baseAddress, UInt(bitPattern: base) % 16 == 0 else {
            throw .arenaMisaligned(address: UInt(bitPattern: arena.baseAddress))
        }
        let plan = Interpreter.walk(image, kernels: kernels, batch: batch, arena: nil, arenaBytes: 0, persistent: 0, pixels: nil,
                                    count: 0, classes: nil, scores: nil)
        guard arena.count >= plan.arena else { throw .arenaTooSmall(needs: plan.arena, has: arena.count) }
        self.image = image
        self.kernels = kernels.resolved
        self.batch = batch
        self.arena = base
        arenaBytes = plan.arena
        persistentBytes = plan.persistent
        if plan.persistent > 0 {   // prepare: fill the persistent data (no pixels: nothing runs)
            _ = Interpreter.walk(image, kernels: kernels, batch: batch, arena: base, arenaBytes: plan.arena, persistent: plan.persistent,
                                 pixels: nil, count: 0, classes: nil, scores: nil)
        }
        footprint = Footprint(imageBytes: bytes.count, arenaBytes: plan.arena, inputBytes: image.input.bytes,
                              outputBytes: 4 * Int(image.header.classes), maxScratchBytes: plan.maxScratch)
    }

    /// Runs the model on one image (`footprint.inputBytes` u8 pixels, NHWC) and returns the class;
    /// writes the `classes` scores to `scores` when given. No allocation, no validation.
    @_noAllocation
    public func invoke(_ pixels: UnsafePointer<UInt8>, scores: UnsafeMutablePointer<Float>? = nil) -> Int {
        Interpreter.walk(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistentBytes,
                         pixels: pixels, count: 1, classes: nil, scores: scores).result
    }

    /// Runs the model on `count` (1...batch) consecutive images and writes their classes to `classes`,
    /// and their scores (`classes` floats per image) to `scores` when given. No allocation, no validation.
    @_noAllocation
    public func invoke(batch pixels: UnsafePointer<UInt8>, count: Int, classes: UnsafeMutablePointer<Int>,
                       scores: UnsafeMutablePointer<Float>? = nil) {
        precondition(count >= 1 && count <= batch, "invoke(batch:): count outside 1...batch")
        _ = Interpreter.walk(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistentBytes,
                             pixels: pixels, count: count, classes: classes, scores: scores)
    }


    /// The value kinds between ops.
    enum Kind { case pixels, codes, bits, i32, f32 }

    /// Bytes of a value.
    @inline(__always)
    static func bytes(_ kind: Kind, _ h: Int, _ w: Int, _ c: Int, _ layout: BitLayout) -> Int {
        switch kind {
        case .pixels, .codes: return h * w * c
        case .i32, .f32: return 4 * h * w * c
        case .bits: return layout == .flat ? 8 * BitPacking.words(h * w * c) : 8 * h * w * BitPacking.words(c)
        }
    }

    /// Plans (`arena` nil: sizes only), prepares (`arena` given, `pixels` nil: fills the `persistent`
    /// bytes at the start of the arena, which planning sized) or runs (both given) the model on
    /// `count` images, step by step. A step is one op, or a fused group: input_codes + a binary layer reading codes; a binary
    /// layer + [maxpool] + threshold_sign. A step reads its input at one end of the arena and writes its
    /// output at the other, with its scratch in between; affine, hardtanh and relu work in place. One
    /// function for planning and running, so the two can never disagree.
    @_noAllocation
    static func walk(_ image: ModelImage, kernels: KernelSet, batch: Int, arena: UnsafeMutableRawPointer?, arenaBytes: Int,
                     persistent: Int, pixels: UnsafePointer<UInt8>?, count: Int, classes: UnsafeMutablePointer<Int>?,
                     scores: UnsafeMutablePointer<Float>?) -> (arena: Int, maxScratch: Int, persistent: Int, result: Int) {
        let kernels = kernels.resolved
        let fuse = kernels != .reference
        let ops = image.opCount
        // The current value: where it is, what it is, and the bytes from one image's value to the next.
        var kind = Kind.pixels
        var (h, w, c) = (Int(image.header.inputHeight), Int(image.header.inputWidth), Int(image.header.inputChannels))
        var layout = BitLayout.flat
        var stride = h * w * c
        var pendingCodeBits = 0     // > 0: the pixels still have to become codes of that many input bits
        var result = 0
        var cursor = ArenaPlan(arenaBytes: arenaBytes, base: persistent)
        let run = arena != nil && pixels != nil
        let carrySave = kernels == .carrySave
        let prepare = arena != nil && pixels == nil
        var persistentAt = 0    // the persistent bytes of the steps so far (carry-save kernels only)

        var k = 0
        while k < ops {
            let op = image.opKind(k)
            let inStride = stride
            let input: UnsafeRawPointer? = cursor.external ? UnsafeRawPointer(pixels)
                : (arena.map { UnsafeRawPointer($0 + cursor.inputAt) })
            switch op {
            case .inputCodes:
                let next = k + 1 < ops ? image.opKind(k + 1) : .argmax
                let nextReadsCodes = (next == .dense && image.opParameter(k + 1, 3) == Int(InputKind.codes.rawValue))
                    || (next == .conv2d && image.opParameter(k + 1, 6) == Int(InputKind.codes.rawValue))
                let nextIsBinary = nextReadsCodes && image.isBits(image.opParameter(k + 1, next == .dense ? 2 : 5))
                if fuse && nextIsBinary {
                    pendingCodeBits = image.opParameter(k, 0)     // the layer forms the codes itself
                } else {
                    stride = ArenaPlan.align(h * w * c)
                    let (out, _) = cursor.place(inBytes: batch * inStride, outBytes: batch * stride, scratch: 0)
                    if run, let input, let arena {
                        for b in 0..<count {
                            InputCodesKernel.run(pixels: (input + b * inStride).assumingMemoryBound(to: UInt8.self), count: h * w * c,
                                                 bits: image.opParameter(k, 0),
                                                 codes: (arena + out + b * stride).assumingMemoryBound(to: UInt8.self))
                        }
                    }
                    kind = .codes
                }
                k += 1

            case .dense, .conv2d:
                let isDense = op == .dense
                let m = isDense ? image.opParameter(k, 1) : image.opParameter(k, 4)
                let kernel = isDense ? 1 : image.opParameter(k, 3)
                let weightIndex = isDense ? image.opParameter(k, 2) : image.opParameter(k, 5)
                let binary = image.isBits(weightIndex)
                let blocked = image.isBlocked(weightIndex)
                let columns = image.isColumns(weightIndex)
                let (oh, ow) = isDense ? (1, 1) : (h - kernel + 1, w - kernel + 1)
                // Fusion: [maxpool] + threshold_sign after a binary layer.
                var pool = 1, thresholdOp = -1
                if fuse && binary {
                    var j = k + 1
                    if j < ops && image.opKind(j) == .maxpool2d { pool = image.opParameter(j, 3); j += 1 }
                    if j < ops && image.opKind(j) == .thresholdSign { thresholdOp = j } else { pool = 1 }
                }
                let (fh, fw) = (oh / pool, ow / pool)
                let outLayout = thresholdOp >= 0 ? BitLayout(rawValue: UInt32(image.opParameter(thresholdOp, 5)))! : .flat
                let outKind: Kind = thresholdOp >= 0 ? .bits : (binary ? .i32 : .f32)
                let n = isDense ? image.opParameter(k, 0) : h * w * c
                var scratch = 0
                if binary && fuse {
                    if isDense && columns { scratch = ColumnDenseKernel.scratchBytes(n: n, m: m, codeBits: pendingCodeBits) }
                    else if isDense && pendingCodeBits > 0 { scratch = 8 * PixelPlanes.count(bits: pendingCodeBits) * BitPacking.words(n) }
                    if !isDense { scratch = FusedConvKernel.scratchBytes(m: m) }
                } else if !binary && kind != .f32 {
                    scratch = 4 * n   // widened input
                }
                let scratchStride = ArenaPlan.align(scratch)
                // Persistent: the bit counts of the weight rows, for a constant first plane (2-bit codes) on 32 bits.
                // Only rows whose counts fit a u16 keep one; longer rows are counted as the kernel goes.
                var rowCountsAt = carrySave && isDense && binary && blocked && pendingCodeBits == 2 ? persistentAt : -1
                if !BlockedDenseKernel.keepsRowCounts(n: n) { rowCountsAt = -1 }
                if rowCountsAt >= 0 {
                    persistentAt += ArenaPlan.align(2 * BitPacking.blockedRows(m))
                    if prepare, let arena {
                        BlockedDenseKernel.planeRowCounts(weights: image.data(weightIndex).assumingMemoryBound(to: UInt64.self), n: n, m: m,
                                                          into: (arena + rowCountsAt).assumingMemoryBound(to: UInt16.self))
                    }
                }
                stride = ArenaPlan.align(bytes(outKind, fh, fw, m, outLayout))
                let (out, sc) = cursor.place(inBytes: batch * inStride, outBytes: batch * stride, scratch: batch * scratchStride)
                if run, let input, let arena {
                    let weights = image.data(weightIndex)
                    if binary {
                        var sink: AccumulatorSink
                        if thresholdOp >= 0 {
                            let bitsOut = (arena + out).assumingMemoryBound(to: UInt64.self)
                            bitsOut.initialize(repeating: 0, count: count * stride / 8)
                            sink = .signs(thresholds: image.data(image.opParameter(thresholdOp, 3)).assumingMemoryBound(to: Int32.self),
                                          flips: image.data(image.opParameter(thresholdOp, 4)).assumingMemoryBound(to: UInt8.self),
                                          layout: outLayout, channels: m, bits: bitsOut)
                        } else {
                            sink = .accumulators((arena + out).assumingMemoryBound(to: Int32.self))
                        }
                        let w64 = weights.assumingMemoryBound(to: UInt64.self)
                        var b = 0
                        if fuse && isDense && blocked {
                            let planes = (arena + sc).assumingMemoryBound(to: UInt64.self)
                            let planeCount = pendingCodeBits > 0 ? PixelPlanes.count(bits: pendingCodeBits) : 0
                            // Four images per pass over the weights, then one at a time; the carry-save
                            // kernels (no popcount instruction) take one image at a time.
                            let byFour = !carrySave
                            while byFour && b + 4 <= count {
                                let sinks = (sink.advanced(byBytes: b * stride), sink.advanced(byBytes: (b + 1) * stride),
                                             sink.advanced(byBytes: (b + 2) * stride), sink.advanced(byBytes: (b + 3) * stride))
                                if pendingCodeBits > 0 {
                                    var totals = SIMD4<Int32>()
                                    for i in 0..<4 {
                                        totals[i] = Int32(PixelPlanes.build(pixels: (input + (b + i) * inStride).assumingMemoryBound(to: UInt8.self),
                                                                            n: n, bits: pendingCodeBits,
                                                                            into: planes + (b + i) * scratchStride / 8))
                                    }
                                    BlockedDenseKernel.planes4(planes + b * scratchStride / 8, stride: scratchStride / 8, count: planeCount,
                                                               constantFirstPlane: pendingCodeBits < 8, totals: totals, weights: w64, n: n, m: m, sinks: sinks)
                                } else {
                                    BlockedDenseKernel.bits4(input: (input + b * inStride).assumingMemoryBound(to: UInt64.self),
                                                             stride: inStride / 8, weights: w64, n: n, m: m, sinks: sinks)
                                }
                                b += 4
                            }
                            while b < count {
                                let one = sink.advanced(byBytes: b * stride)
                                if pendingCodeBits > 0 {
                                    let p = planes + b * scratchStride / 8
                                    let px = (input + b * inStride).assumingMemoryBound(to: UInt8.self)
                                    if carrySave {
                                        let total = PixelPlanes.build32(pixels: px, n: n, bits: pendingCodeBits, into: p)
                                        let rowCounts = rowCountsAt < 0 ? nil : UnsafePointer((arena + rowCountsAt).assumingMemoryBound(to: UInt16.self))
                                        BlockedDenseKernel.planesCarrySave(p, count: planeCount, constantFirstPlane: pendingCodeBits < 8, total: total,
                                                                           weights: w64, n: n, m: m, sink: one, rowCounts: rowCounts)
                                    } else {
                                        let total = PixelPlanes.build(pixels: px, n: n, bits: pendingCodeBits, into: p)
                                        BlockedDenseKernel.planes(p, count: planeCount, total: total, weights: w64, n: n, m: m, sink: one)
                                    }
                                } else {
                                    let x = (input + b * inStride).assumingMemoryBound(to: UInt64.self)
                                    if carrySave {
                                        BlockedDenseKernel.bitsCarrySave(input: x, weights: w64, n: n, m: m, sink: one)
                                    } else {
                                        BlockedDenseKernel.bits(input: x, weights: w64, n: n, m: m, sink: one)
                                    }
                                }
                                b += 1
                            }
                        }
                        while b < count {
                            let x = input + b * inStride, scratchPointer = arena + sc + b * scratchStride
                            let one = sink.advanced(byBytes: b * stride)
                            if fuse && isDense && columns {
                                if pendingCodeBits > 0 {
                                    ColumnDenseKernel.pixels(x.assumingMemoryBound(to: UInt8.self), bits: pendingCodeBits, weights: weights, n: n, m: m,
                                                             scratch: scratchPointer, sink: one)
                                } else {
                                    ColumnDenseKernel.bits(input: x.assumingMemoryBound(to: UInt64.self), weights: weights, n: n, m: m,
                                                           scratch: scratchPointer, sink: one)
                                }
                            } else if fuse && isDense {
                                if pendingCodeBits > 0 {
                                    FusedDenseKernel.bitplanePixels(pixels: x.assumingMemoryBound(to: UInt8.self), bits: pendingCodeBits,
                                                                    weights: w64, n: n, m: m,
                                                                    planes: scratchPointer.assumingMemoryBound(to: UInt64.self), sink: one)
                                } else {
                                    FusedDenseKernel.popcountBits(input: x.assumingMemoryBound(to: UInt64.self), weights: w64, n: n, m: m, sink: one)
                                }
                            } else if fuse {
                                let source: FusedConvKernel.Input = pendingCodeBits > 0
                                    ? .pixels(x.assumingMemoryBound(to: UInt8.self), bits: pendingCodeBits)
                                    : .bits(x.assumingMemoryBound(to: UInt64.self))
                                FusedConvKernel.run(source, h: h, w: w, c: c, k: kernel, weights: w64, m: m, pool: pool,
                                                    accumulators: scratchPointer.assumingMemoryBound(to: Int32.self), sink: one)
                            } else {
                                let o = (arena + out + b * stride).assumingMemoryBound(to: Int32.self)
                                let rows = columns ? PackedRows(columns: w64, n: n) : PackedRows(w64, words: BitPacking.words(n), blocked: blocked)
                                switch (isDense, kind) {
                                case (true, .bits):
                                    BinaryDenseKernel.referenceBits(input: x.assumingMemoryBound(to: UInt64.self), weights: rows, n: n, m: m, output: o)
                                case (true, _):
                                    BinaryDenseKernel.referenceCodes(codes: x.assumingMemoryBound(to: UInt8.self), weights: rows, n: n, m: m, output: o)
                                case (false, .bits):
                                    BinaryConvKernel.referenceBits(input: x.assumingMemoryBound(to: UInt64.self), h: h, w: w, c: c, k: kernel,
                                                                   weights: w64, m: m, output: o)
                                case (false, _):
                                    BinaryConvKernel.referenceCodes(codes: x.assumingMemoryBound(to: UInt8.self), h: h, w: w, c: c, k: kernel,
                                                                    weights: w64, m: m, output: o)
                                }
                            }
                            b += 1
                        }
                    } else {
                        // Float weights: widen codes or bits into scratch, then the float kernel.
                        let wf = weights.assumingMemoryBound(to: Float.self)
                        let bias: UnsafePointer<Float>? = !isDense || image.opParameter(k, 5) == 0 ? nil
                            : image.data(image.opParameter(k, 5) - 1).assumingMemoryBound(to: Float.self)
                        for b in 0..<count {
                            let f = (arena + sc + b * scratchStride).assumingMemoryBound(to: Float.self)
                            let source = input + b * inStride
                            let x: UnsafePointer<Float>
                            switch kind {
                            case .f32: x = source.assumingMemoryBound(to: Float.self)
                            case .bits: WidenKernel.bits(source.assumingMemoryBound(to: UInt64.self), count: n, into: f); x = UnsafePointer(f)
                            default: WidenKernel.codes(source.assumingMemoryBound(to: UInt8.self), count: n, into: f); x = UnsafePointer(f)
                            }
                            let o = (arena + out + b * stride).assumingMemoryBound(to: Float.self)
                            if isDense {
                                if fuse {
                                    FloatDenseKernel.simd(input: x, n: n, weights: wf, m: m, bias: bias, output: o)
                                } else {
                                    FloatDenseKernel.reference(input: x, n: n, weights: wf, m: m, bias: bias, output: o)
                                }
                            } else {
                                FloatConvKernel.reference(input: x, h: h, w: w, c: c, k: kernel, weights: wf, m: m, output: o)
                            }
                        }
                    }
                }
                kind = outKind
                (h, w, c) = (fh, fw, m)
                layout = outLayout
                pendingCodeBits = 0
                k = thresholdOp >= 0 ? thresholdOp + 1 : k + 1

            case .maxpool2d:
                let s = image.opParameter(k, 3)
                let (oh, ow) = (h / s, w / s)
                stride = ArenaPlan.align(bytes(kind, oh, ow, c, layout))
                let (out, _) = cursor.place(inBytes: batch * inStride, outBytes: batch * stride, scratch: 0)
                if run, let input, let arena {
                    for b in 0..<count {
                        let x = input + b * inStride, o = arena + out + b * stride
                        if kind == .i32 {
                            MaxPoolKernel.run(x.assumingMemoryBound(to: Int32.self), h: h, w: w, c: c, s: s,
                                              output: o.assumingMemoryBound(to: Int32.self))
                        } else {
                            MaxPoolKernel.run(x.assumingMemoryBound(to: Float.self), h: h, w: w, c: c, s: s,
                                              output: o.assumingMemoryBound(to: Float.self))
                        }
                    }
                }
                (h, w) = (oh, ow)
                k += 1

            case .thresholdSign:
                let outLayout = BitLayout(rawValue: UInt32(image.opParameter(k, 5)))!
                stride = ArenaPlan.align(bytes(.bits, h, w, c, outLayout))
                let (out, _) = cursor.place(inBytes: batch * inStride, outBytes: batch * stride, scratch: 0)
                if run, let input, let arena {
                    for b in 0..<count {
                        ThresholdSignKernel.run((input + b * inStride).assumingMemoryBound(to: Int32.self), h: h, w: w, c: c,
                                                thresholds: image.data(image.opParameter(k, 3)).assumingMemoryBound(to: Int32.self),
                                                flips: image.data(image.opParameter(k, 4)).assumingMemoryBound(to: UInt8.self), layout: outLayout,
                                                output: (arena + out + b * stride).assumingMemoryBound(to: UInt64.self))
                    }
                }
                kind = .bits
                layout = outLayout
                k += 1

            case .affine:
                // In place: i32 or f32 in, f32 out, element by element.
                if run, let input {
                    let outputScale: UnsafePointer<Float>? = image.opParameter(k, 3) == 0 ? nil : image.data(image.opParameter(k, 3) - 1).assumingMemoryBound(to: Float.self)
                    let scale = image.data(image.opParameter(k, 4)).assumingMemoryBound(to: Float.self), shift = image.data(image.opParameter(k, 5)).assumingMemoryBound(to: Float.self)
                    for b in 0..<count {
                        let x = input + b * inStride
                        let o = UnsafeMutableRawPointer(mutating: x).assumingMemoryBound(to: Float.self)
                        if kind == .i32 {
                            AffineKernel.run(x.assumingMemoryBound(to: Int32.self), pixels: h * w, c: c, outputScale: outputScale,
                                             scale: scale, shift: shift, output: o)
                        } else {
                            AffineKernel.run(x.assumingMemoryBound(to: Float.self), pixels: h * w, c: c, outputScale: outputScale,
                                             scale: scale, shift: shift, output: o)
                        }
                    }
                }
                kind = .f32
                k += 1

            case .hardtanh, .relu:
                if run, let input {
                    for b in 0..<count {
                        let x = UnsafeMutableRawPointer(mutating: input + b * inStride).assumingMemoryBound(to: Float.self)
                        if op == .hardtanh { ActivationKernel.hardtanh(x, count: image.opParameter(k, 0)) } else { ActivationKernel.relu(x, count: image.opParameter(k, 0)) }
                    }
                }
                k += 1

            case .argmax:
                if run, let input {
                    let n = image.opParameter(k, 0)
                    for b in 0..<count {
                        let x = (input + b * inStride).assumingMemoryBound(to: Float.self)
                        if let scores { for i in 0..<n { scores[b * n + i] = x[i] } }
                        let best = ActivationKernel.argmax(x, count: n)
                        if let classes { classes[b] = best }
                        if b == 0 { result = best }
                    }
                }
                k += 1
            }
        }
        return (persistentAt + cursor.needed, cursor.maxScratch, persistentAt, result)
    }
}
