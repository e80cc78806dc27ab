import ModelFormat

// The runtime (TensorFlow Lite Micro's shape): the caller owns the model image and the arena.
// `prepare` validates the image and plans the arena; `invoke` then runs without allocating and
// without validating again.
//
// Arena: the plan (one record per op) sits at the start; activations alternate between the two ends
// of the rest: an op reads its input at one end and writes its output at the other, with its scratch
// in between, so the arena is max over ops of (input + scratch + output), the least a chain needs.
// hardtanh and relu work in place. The input image and the output scores are the caller's and are
// not in the arena.

/// Which kernels `invoke` uses.
public enum KernelSet: Sendable {
    /// Plain loops on +/-1 integers (the definition; slow).
    case reference
    /// Popcount and bit-plane kernels (the default; bit-exact with the reference for integer ops).
    case optimized
}

/// One planned op (stored in the arena).
struct PlannedOp {
    var kind: OpKind
    var view: OpView
    var input: Int          // offset in the activation area, or -1 for the caller's input image
    var output: Int
    var scratch: Int
    var scratchBytes: Int
}

/// Memory the model needs, as planned by `prepare`.
public struct Footprint: Equatable, Sendable {
    /// Bytes of the model image.
    public var imageBytes: Int
    /// Bytes of the arena (plan + activations + scratch), exact.
    public var arenaBytes: Int
    /// Of which the plan records.
    public var planBytes: Int
    /// Bytes of the caller's input image.
    public var inputBytes: Int
    /// Bytes of the caller's output scores (f32 per class).
    public var outputBytes: Int
    /// The largest scratch any op uses.
    public var maxScratchBytes: Int
}

/// A prepared model over a caller-owned image and arena.
public struct Interpreter {
    /// The validated image.
    public let image: ModelImage
    /// The planned footprint.
    public let footprint: Footprint
    /// Kernels used by `invoke`.
    public var kernels: KernelSet
    private let plan: UnsafeMutablePointer<PlannedOp>
    private let activations: UnsafeMutableRawPointer
    private let opCount: Int

    /// Arena bytes `image` needs (plans without an arena).
    public static func arenaBytes(for image: ModelImage) -> Int {
        plan(image, into: nil).total
    }

    /// Validates `image` and plans `arena`.
    /// - Throws: `format` for a bad image, `arenaTooSmall` with both sizes, `arenaMisaligned`.
    public init(image bytes: UnsafeRawBufferPointer, arena: UnsafeMutableRawBufferPointer,
                kernels: KernelSet = .optimized) throws(InferenceError) {
        let image: ModelImage
        do { image = try ModelImage(bytes: bytes) } catch { throw .format(error) }
        guard let base = arena.baseAddress, UInt(bitPattern: base) % 16 == 0 else {
            throw .arenaMisaligned(address: UInt(bitPattern: arena.baseAddress))
        }
        let needs = Interpreter.plan(image, into: nil)
        guard arena.count >= needs.total else { throw .arenaTooSmall(needs: needs.total, has: arena.count) }
        let planPointer = base.bindMemory(to: PlannedOp.self, capacity: image.opCount)
        let result = Interpreter.plan(image, into: planPointer)
        self.image = image
        self.kernels = kernels
        plan = planPointer
        activations = base + result.planBytes
        opCount = image.opCount
        footprint = Footprint(imageBytes: bytes.count, arenaBytes: result.total, planBytes: result.planBytes,
                              inputBytes: image.input.bytes, outputBytes: 4 * Int(image.header.classes),
                              maxScratchBytes: result.maxScratch)
    }

    private static func align(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Scratch bytes op `v` needs with the optimized kernels.
    static func scratchBytes(_ v: OpView) -> Int {
        switch v.kind {
        case .dense:
            let n = v.p(0)
            if v.p(3) == Int(InputKind.codes.rawValue) {
                // Binary weights: bit-planes; float weights: the widened input.
                return v.output.kind == .i32 ? 8 * BinaryDenseKernel.bitplaneScratchWords(n: n, codeBits: v.p(4)) : 4 * n
            }
            return v.p(3) == Int(InputKind.bits.rawValue) && v.output.kind == .f32 ? 4 * n : 0
        case .conv2d:
            let (h, w, c, k, m) = (v.p(0), v.p(1), v.p(2), v.p(3), v.p(4))
            if v.output.kind == .i32 {
                return v.p(6) == Int(InputKind.codes.rawValue) ? BinaryConvKernel.signedScratchBytes(c: c, k: k, m: m) : 0
            }
            return v.p(6) == Int(InputKind.f32.rawValue) ? 0 : 4 * h * w * c
        default:
            return 0
        }
    }

    /// Lays the ops out; writes the records when `into` is given. Returns sizes.
    private static func plan(_ image: ModelImage, into records: UnsafeMutablePointer<PlannedOp>?)
        -> (total: Int, planBytes: Int, maxScratch: Int) {
        let planBytes = align(image.opCount * MemoryLayout<PlannedOp>.stride)
        // First pass: the activation area size.
        var area = 0
        var maxScratch = 0
        var current = image.input
        var inArena = false
        for k in 0..<image.opCount {
            let v = image.op(k)   // O(n^2) over a chain of a few dozen ops, in prepare only
            let inPlace = v.kind == .hardtanh || v.kind == .relu
            let scratch = align(scratchBytes(v))
            maxScratch = max(maxScratch, scratch)
            let input = inArena ? align(current.bytes) : 0
            let output = inPlace || v.kind == .argmax ? 0 : align(v.output.bytes)
            area = max(area, input + scratch + output)
            current = v.output
            inArena = inArena || !inPlace
        }
        guard let records else { return (planBytes + area, planBytes, maxScratch) }
        // Second pass: offsets, alternating ends.
        var inputAt = -1          // -1: the caller's input image
        var inputLow = true       // where the current input lives
        current = image.input
        for k in 0..<image.opCount {
            let v = image.op(k)
            let inPlace = v.kind == .hardtanh || v.kind == .relu
            let scratch = align(scratchBytes(v))
            let outBytes = align(v.output.bytes)
            var rec = PlannedOp(kind: v.kind, view: v, input: inputAt, output: inputAt, scratch: 0, scratchBytes: scratch)
            if v.kind == .argmax {
                rec.output = -1
            } else if !inPlace {
                if inputAt < 0 || !inputLow {
                    // Input at the high end (or outside): output low, scratch after it.
                    rec.output = 0
                    rec.scratch = outBytes
                    inputLow = true
                } else {
                    // Input low: output high, scratch after the input.
                    rec.output = area - outBytes
                    rec.scratch = align(current.bytes)
                    inputLow = false
                }
            }
            (records + k).initialize(to: rec)
            inputAt = rec.output
            current = v.output
        }
        return (planBytes + area, planBytes, maxScratch)
    }

    /// Runs the model on one image (`footprint.inputBytes` u8 pixels, NHWC) and returns the class;
    /// writes the `classes` scores (the last f32 values) to `scores` when given. No allocation.
    @_noAllocation
    public func invoke(_ pixels: UnsafePointer<UInt8>, scores: UnsafeMutablePointer<Float>? = nil) -> Int {
        var result = 0
        for k in 0..<opCount {
            let op = plan[k]
            let v = op.view
            let inRaw: UnsafeRawPointer = op.input < 0 ? UnsafeRawPointer(pixels) : UnsafeRawPointer(activations + op.input)
            let out = activations + max(op.output, 0)
            let scratch = activations + op.scratch
            switch op.kind {
            case .inputCodes:
                InputCodesKernel.run(pixels: inRaw.assumingMemoryBound(to: UInt8.self), count: v.input.count, bits: v.p(0),
                                     codes: out.assumingMemoryBound(to: UInt8.self))
            case .dense:
                runDense(v, inRaw, out, scratch)
            case .conv2d:
                runConv(v, inRaw, out, scratch)
            case .maxpool2d:
                if v.input.isAccumulator {
                    MaxPoolKernel.run(inRaw.assumingMemoryBound(to: Int32.self), h: v.p(0), w: v.p(1), c: v.p(2), s: v.p(3),
                                      output: out.assumingMemoryBound(to: Int32.self))
                } else {
                    MaxPoolKernel.run(inRaw.assumingMemoryBound(to: Float.self), h: v.p(0), w: v.p(1), c: v.p(2), s: v.p(3),
                                      output: out.assumingMemoryBound(to: Float.self))
                }
            case .thresholdSign:
                ThresholdSignKernel.run(inRaw.assumingMemoryBound(to: Int32.self), h: v.p(0), w: v.p(1), c: v.p(2),
                                        thresholds: tensor(v.p(3), Int32.self), flips: tensor(v.p(4), UInt8.self),
                                        layout: v.output.layout, output: out.assumingMemoryBound(to: UInt64.self))
            case .affine:
                let c = v.p(2)
                let outputScale: UnsafePointer<Float>? = v.p(3) == 0 ? nil : tensor(v.p(3) - 1, Float.self)
                if v.input.isAccumulator {
                    AffineKernel.run(inRaw.assumingMemoryBound(to: Int32.self), pixels: v.p(0) * v.p(1), c: c,
                                     outputScale: outputScale, scale: tensor(v.p(4), Float.self),
                                     shift: tensor(v.p(5), Float.self), output: out.assumingMemoryBound(to: Float.self))
                } else {
                    AffineKernel.run(inRaw.assumingMemoryBound(to: Float.self), pixels: v.p(0) * v.p(1), c: c,
                                     outputScale: outputScale, scale: tensor(v.p(4), Float.self),
                                     shift: tensor(v.p(5), Float.self), output: out.assumingMemoryBound(to: Float.self))
                }
            case .hardtanh:
                ActivationKernel.hardtanh(UnsafeMutableRawPointer(mutating: inRaw).assumingMemoryBound(to: Float.self), count: v.p(0))
            case .relu:
                ActivationKernel.relu(UnsafeMutableRawPointer(mutating: inRaw).assumingMemoryBound(to: Float.self), count: v.p(0))
            case .argmax:
                let x = inRaw.assumingMemoryBound(to: Float.self)
                if let scores { for c in 0..<v.p(0) { scores[c] = x[c] } }
                result = ActivationKernel.argmax(x, count: v.p(0))
            }
        }
        return result
    }

    @inline(__always)
    private func tensor<T>(_ index: Int, _: T.Type) -> UnsafePointer<T> {
        image.data(index).assumingMemoryBound(to: T.self)
    }

    private func runDense(_ v: OpView, _ input: UnsafeRawPointer, _ out: UnsafeMutableRawPointer, _ scratch: UnsafeMutableRawPointer) {
        let (n, m) = (v.p(0), v.p(1))
        let kind = InputKind(rawValue: UInt32(v.p(3)))!
        if v.output.isAccumulator {
            let w = tensor(v.p(2), UInt64.self)
            let o = out.assumingMemoryBound(to: Int32.self)
            switch (kind, kernels) {
            case (.bits, .optimized):
                BinaryDenseKernel.popcountBits(input: input.assumingMemoryBound(to: UInt64.self), weights: w, n: n, m: m, output: o)
            case (.bits, .reference):
                BinaryDenseKernel.referenceBits(input: input.assumingMemoryBound(to: UInt64.self), weights: w, n: n, m: m, output: o)
            case (_, .optimized):
                BinaryDenseKernel.bitplaneCodes(codes: input.assumingMemoryBound(to: UInt8.self), codeBits: v.p(4), weights: w,
                                                n: n, m: m, planes: scratch.assumingMemoryBound(to: UInt64.self), output: o)
            case (_, .reference):
                BinaryDenseKernel.referenceCodes(codes: input.assumingMemoryBound(to: UInt8.self), weights: w, n: n, m: m, output: o)
            }
            return
        }
        let x = widen(kind, input, count: n, scratch)
        let bias: UnsafePointer<Float>? = v.p(5) == 0 ? nil : tensor(v.p(5) - 1, Float.self)
        let o = out.assumingMemoryBound(to: Float.self)
        if kernels == .optimized {
            FloatDenseKernel.simd(input: x, n: n, weights: tensor(v.p(2), Float.self), m: m, bias: bias, output: o)
        } else {
            FloatDenseKernel.reference(input: x, n: n, weights: tensor(v.p(2), Float.self), m: m, bias: bias, output: o)
        }
    }

    private func runConv(_ v: OpView, _ input: UnsafeRawPointer, _ out: UnsafeMutableRawPointer, _ scratch: UnsafeMutableRawPointer) {
        let (h, w, c, k, m) = (v.p(0), v.p(1), v.p(2), v.p(3), v.p(4))
        let kind = InputKind(rawValue: UInt32(v.p(6)))!
        if v.output.isAccumulator {
            let wt = tensor(v.p(5), UInt64.self)
            let o = out.assumingMemoryBound(to: Int32.self)
            switch (kind, kernels) {
            case (.bits, .optimized):
                BinaryConvKernel.popcountBits(input: input.assumingMemoryBound(to: UInt64.self), h: h, w: w, c: c, k: k,
                                              weights: wt, m: m, output: o)
            case (.bits, .reference):
                BinaryConvKernel.referenceBits(input: input.assumingMemoryBound(to: UInt64.self), h: h, w: w, c: c, k: k,
                                               weights: wt, m: m, output: o)
            case (_, .optimized):
                BinaryConvKernel.signedCodes(codes: input.assumingMemoryBound(to: UInt8.self), h: h, w: w, c: c, k: k,
                                             weights: wt, m: m, signs: scratch.assumingMemoryBound(to: Int32.self), output: o)
            case (_, .reference):
                BinaryConvKernel.referenceCodes(codes: input.assumingMemoryBound(to: UInt8.self), h: h, w: w, c: c, k: k,
                                                weights: wt, m: m, output: o)
            }
            return
        }
        let x = widen(kind, input, count: h * w * c, scratch)
        FloatConvKernel.reference(input: x, h: h, w: w, c: c, k: k, weights: tensor(v.p(5), Float.self), m: m,
                                  output: out.assumingMemoryBound(to: Float.self))
    }

    private func widen(_ kind: InputKind, _ input: UnsafeRawPointer, count: Int, _ scratch: UnsafeMutableRawPointer) -> UnsafePointer<Float> {
        let f = scratch.assumingMemoryBound(to: Float.self)
        switch kind {
        case .f32: return input.assumingMemoryBound(to: Float.self)
        case .codes: WidenKernel.codes(input.assumingMemoryBound(to: UInt8.self), count: count, into: f)
        case .bits: WidenKernel.bits(input.assumingMemoryBound(to: UInt64.self), count: count, into: f)
        }
        return UnsafePointer(f)
    }
}
