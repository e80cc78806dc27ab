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
    /// Kernels used by `invoke` (fixed at prepare: the arena is planned for them).
    public let kernels: KernelSet
    private let arena: UnsafeMutableRawPointer
    private let arenaBytes: Int

    /// Arena bytes `image` needs with `kernels` (plans without an arena).
    public static func arenaBytes(for image: ModelImage, kernels: KernelSet = .optimized) -> Int {
        walk(image, kernels: kernels, arena: nil, arenaBytes: 0, pixels: nil, scores: nil).arena
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
        let plan = Interpreter.walk(image, kernels: kernels, arena: nil, arenaBytes: 0, pixels: nil, scores: nil)
        guard arena.count >= plan.arena else { throw .arenaTooSmall(needs: plan.arena, has: arena.count) }
        self.image = image
        self.kernels = kernels
        self.arena = base
        arenaBytes = plan.arena
        footprint = Footprint(imageBytes: bytes.count, arenaBytes: plan.arena, inputBytes: image.input.bytes,
                              outputBytes: 4 * Int(image.header.classes), maxScratchBytes: plan.maxScratch)
    }

    /// Runs the model on one image (`footprint.inputBytes` u8 pixels, NHWC) and returns the class;
    /// writes the `classes` scores to `scores` when given. No allocation, no validation.
    @_noAllocation
    public func invoke(_ pixels: UnsafePointer<UInt8>, scores: UnsafeMutablePointer<Float>? = nil) -> Int {
        Interpreter.walk(image, kernels: kernels, arena: arena, arenaBytes: arenaBytes, pixels: pixels, scores: scores).result
    }

    @inline(__always)
    static func align(_ n: Int) -> Int { (n + 15) & ~15 }

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

    /// The alternating-ends placement of step outputs, and the sizes it needs.
    struct Cursor {
        let arenaBytes: Int
        var needed = 0, maxScratch = 0
        /// Offset of the current value (meaningless while `external`; negative while planning).
        var inputAt = 0
        /// The current value is the caller's pixels, not in the arena.
        var external = true
        var inputLow = false

        /// Places a step's output and scratch, given its input's size; returns (output, scratch) offsets
        /// and makes the output the current value.
        mutating func place(inBytes: Int, outBytes: Int, scratch: Int) -> (Int, Int) {
            let input = external ? 0 : Interpreter.align(inBytes)
            let out = Interpreter.align(outBytes), sc = Interpreter.align(scratch)
            needed = max(needed, input + sc + out)
            maxScratch = max(maxScratch, sc)
            external = false
            if !inputLow {
                inputLow = true
                inputAt = 0
                return (0, out)
            }
            inputLow = false
            inputAt = arenaBytes - out
            return (arenaBytes - out, input)
        }
    }

    /// Plans (`arena` nil: sizes only) or runs (`arena` given) the model, step by step. A step is one op,
    /// or a fused group: input_codes + a binary layer reading codes; a binary layer + [maxpool] +
    /// threshold_sign. A step reads its input at one end of the arena and writes its output at the
    /// other, with its scratch in between; affine, hardtanh and relu work in place. One function for
    /// planning and running, so the two can never disagree.
    @_noAllocation
    static func walk(_ image: ModelImage, kernels: KernelSet, arena: UnsafeMutableRawPointer?, arenaBytes: Int,
                     pixels: UnsafePointer<UInt8>?, scores: UnsafeMutablePointer<Float>?)
        -> (arena: Int, maxScratch: Int, result: Int) {
        let fuse = kernels == .optimized
        let ops = image.opCount
        // The current value: where it is and what it is.
        var kind = Kind.pixels
        var (h, w, c) = (Int(image.header.inputHeight), Int(image.header.inputWidth), Int(image.header.inputChannels))
        var layout = BitLayout.flat
        var pendingCodeBits = 0     // > 0: the pixels still have to become codes of that many input bits
        var result = 0
        var cursor = Cursor(arenaBytes: arenaBytes)
        let run = arena != nil

        var k = 0
        while k < ops {
            let op = image.opKind(k)
            let inBytes = bytes(kind, h, w, c, layout)
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
                    let (out, _) = cursor.place(inBytes: inBytes, outBytes: h * w * c, scratch: 0)
                    if run, let input, let arena {
                        InputCodesKernel.run(pixels: input.assumingMemoryBound(to: UInt8.self), count: h * w * c, bits: image.opParameter(k, 0),
                                             codes: (arena + out).assumingMemoryBound(to: UInt8.self))
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
                    if isDense && pendingCodeBits > 0 { scratch = 8 * PixelCodes.planes(bits: pendingCodeBits) * BitPacking.words(n) }
                    if !isDense { scratch = FusedConvKernel.scratchBytes(m: m) }
                } else if binary {
                    scratch = 0   // reference kernels need no scratch
                } else if kind != .f32 {
                    scratch = 4 * n   // widened input
                }
                let (out, sc) = cursor.place(inBytes: inBytes, outBytes: bytes(outKind, fh, fw, m, outLayout), scratch: scratch)
                if run, let input, let arena {
                    let outPointer = arena + out, scratchPointer = arena + sc
                    let weights = image.data(weightIndex)
                    if binary {
                        let sink: AccumulatorSink
                        if thresholdOp >= 0 {
                            let bitsOut = outPointer.assumingMemoryBound(to: UInt64.self)
                            bitsOut.initialize(repeating: 0, count: AccumulatorSink.words(pixels: fh * fw, channels: m, layout: outLayout))
                            sink = .signs(thresholds: image.data(image.opParameter(thresholdOp, 3)).assumingMemoryBound(to: Int32.self),
                                          flips: image.data(image.opParameter(thresholdOp, 4)).assumingMemoryBound(to: UInt8.self),
                                          layout: outLayout, channels: m, bits: bitsOut)
                        } else {
                            sink = .accumulators(outPointer.assumingMemoryBound(to: Int32.self))
                        }
                        let w64 = weights.assumingMemoryBound(to: UInt64.self)
                        if fuse {
                            if isDense {
                                if pendingCodeBits > 0 {
                                    FusedDenseKernel.bitplanePixels(pixels: input.assumingMemoryBound(to: UInt8.self), bits: pendingCodeBits,
                                                                    weights: w64, n: n, m: m,
                                                                    planes: scratchPointer.assumingMemoryBound(to: UInt64.self), sink: sink)
                                } else {
                                    FusedDenseKernel.popcountBits(input: input.assumingMemoryBound(to: UInt64.self), weights: w64, n: n, m: m, sink: sink)
                                }
                            } else {
                                let source: FusedConvKernel.Input = pendingCodeBits > 0
                                    ? .pixels(input.assumingMemoryBound(to: UInt8.self), bits: pendingCodeBits)
                                    : .bits(input.assumingMemoryBound(to: UInt64.self))
                                FusedConvKernel.run(source, h: h, w: w, c: c, k: kernel, weights: w64, m: m, pool: pool,
                                                    accumulators: scratchPointer.assumingMemoryBound(to: Int32.self), sink: sink)
                            }
                        } else {
                            let o = outPointer.assumingMemoryBound(to: Int32.self)
                            switch (isDense, kind) {
                            case (true, .bits):
                                BinaryDenseKernel.referenceBits(input: input.assumingMemoryBound(to: UInt64.self), weights: w64, n: n, m: m, output: o)
                            case (true, _):
                                BinaryDenseKernel.referenceCodes(codes: input.assumingMemoryBound(to: UInt8.self), weights: w64, n: n, m: m, output: o)
                            case (false, .bits):
                                BinaryConvKernel.referenceBits(input: input.assumingMemoryBound(to: UInt64.self), h: h, w: w, c: c, k: kernel,
                                                               weights: w64, m: m, output: o)
                            case (false, _):
                                BinaryConvKernel.referenceCodes(codes: input.assumingMemoryBound(to: UInt8.self), h: h, w: w, c: c, k: kernel,
                                                                weights: w64, m: m, output: o)
                            }
                        }
                    } else {
                        // Float weights: widen codes or bits into scratch, then the float kernel.
                        let f = scratchPointer.assumingMemoryBound(to: Float.self)
                        let x: UnsafePointer<Float>
                        switch kind {
                        case .f32: x = input.assumingMemoryBound(to: Float.self)
                        case .bits: WidenKernel.bits(input.assumingMemoryBound(to: UInt64.self), count: n, into: f); x = UnsafePointer(f)
                        default: WidenKernel.codes(input.assumingMemoryBound(to: UInt8.self), count: n, into: f); x = UnsafePointer(f)
                        }
                        let o = outPointer.assumingMemoryBound(to: Float.self)
                        let wf = weights.assumingMemoryBound(to: Float.self)
                        if isDense {
                            let bias: UnsafePointer<Float>? = image.opParameter(k, 5) == 0 ? nil : image.data(image.opParameter(k, 5) - 1).assumingMemoryBound(to: Float.self)
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
                kind = outKind
                (h, w, c) = (fh, fw, m)
                layout = outLayout
                pendingCodeBits = 0
                k = thresholdOp >= 0 ? thresholdOp + 1 : k + 1

            case .maxpool2d:
                let s = image.opParameter(k, 3)
                let (oh, ow) = (h / s, w / s)
                let (out, _) = cursor.place(inBytes: inBytes, outBytes: bytes(kind, oh, ow, c, layout), scratch: 0)
                if run, let input, let arena {
                    if kind == .i32 {
                        MaxPoolKernel.run(input.assumingMemoryBound(to: Int32.self), h: h, w: w, c: c, s: s,
                                          output: (arena + out).assumingMemoryBound(to: Int32.self))
                    } else {
                        MaxPoolKernel.run(input.assumingMemoryBound(to: Float.self), h: h, w: w, c: c, s: s,
                                          output: (arena + out).assumingMemoryBound(to: Float.self))
                    }
                }
                (h, w) = (oh, ow)
                k += 1

            case .thresholdSign:
                let outLayout = BitLayout(rawValue: UInt32(image.opParameter(k, 5)))!
                let (out, _) = cursor.place(inBytes: inBytes, outBytes: bytes(.bits, h, w, c, outLayout), scratch: 0)
                if run, let input, let arena {
                    ThresholdSignKernel.run(input.assumingMemoryBound(to: Int32.self), h: h, w: w, c: c,
                                            thresholds: image.data(image.opParameter(k, 3)).assumingMemoryBound(to: Int32.self),
                                            flips: image.data(image.opParameter(k, 4)).assumingMemoryBound(to: UInt8.self), layout: outLayout,
                                            output: (arena + out).assumingMemoryBound(to: UInt64.self))
                }
                kind = .bits
                layout = outLayout
                k += 1

            case .affine:
                // In place: i32 or f32 in, f32 out, element by element.
                if run, let input {
                    let outputScale: UnsafePointer<Float>? = image.opParameter(k, 3) == 0 ? nil : image.data(image.opParameter(k, 3) - 1).assumingMemoryBound(to: Float.self)
                    let scale = image.data(image.opParameter(k, 4)).assumingMemoryBound(to: Float.self), shift = image.data(image.opParameter(k, 5)).assumingMemoryBound(to: Float.self)
                    let o = UnsafeMutableRawPointer(mutating: input).assumingMemoryBound(to: Float.self)
                    if kind == .i32 {
                        AffineKernel.run(input.assumingMemoryBound(to: Int32.self), pixels: h * w, c: c, outputScale: outputScale,
                                         scale: scale, shift: shift, output: o)
                    } else {
                        AffineKernel.run(input.assumingMemoryBound(to: Float.self), pixels: h * w, c: c, outputScale: outputScale,
                                         scale: scale, shift: shift, output: o)
                    }
                }
                kind = .f32
                k += 1

            case .hardtanh, .relu:
                if run, let input {
                    let x = UnsafeMutableRawPointer(mutating: input).assumingMemoryBound(to: Float.self)
                    if op == .hardtanh { ActivationKernel.hardtanh(x, count: image.opParameter(k, 0)) } else { ActivationKernel.relu(x, count: image.opParameter(k, 0)) }
                }
                k += 1

            case .argmax:
                if run, let input {
                    let x = input.assumingMemoryBound(to: Float.self)
                    if let scores { for i in 0..<image.opParameter(k, 0) { scores[i] = x[i] } }
                    result = ActivationKernel.argmax(x, count: image.opParameter(k, 0))
                }
                k += 1
            }
        }
        return (cursor.needed, cursor.maxScratch, result)
    }
}
