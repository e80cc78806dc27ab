import ModelFormat

// The runtime (TensorFlow Lite Micro's shape): the caller owns the model image and the arena.
// `prepare` validates the image and plans the arena; `invoke` then runs without allocating and
// without validating again.
//
// Steps: `walk` is a loop over the model's steps (Steps/: one file and one function per op kind, for
// the plan, prepare and run passes alike), which share their state in `WalkState`. Each weight layer
// runs the kernel that `Kernel.choose` (KernelChoice.swift) names. Arena: `ArenaPlan` (ArenaPlan.swift)
// places every value and scratch; no plan is stored, `walk` recomputes it in each pass, and
// `Interpreter.plan` (PlanEntry.swift) reports it step by step. The input image and the output scores are the caller's, not in the arena.
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
    let arena: UnsafeMutableRawPointer
    let arenaBytes: Int
    /// Bytes at the start of the arena that `init` fills and `invoke` reads (32-bit targets).
    let persistentBytes: Int

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


    /// Plans (`arena` nil: sizes only), prepares (`arena` given, `pixels` nil: fills the `persistent`
    /// bytes at the start of the arena, which planning sized) or runs (both given) the model on `count`
    /// images: `walkSteps` with nothing recorded.
    @_noAllocation
    static func walk(_ image: ModelImage, kernels: KernelSet, batch: Int, arena: UnsafeMutableRawPointer?, arenaBytes: Int,
                     persistent: Int, pixels: UnsafePointer<UInt8>?, count: Int, classes: UnsafeMutablePointer<Int>?,
                     scores: UnsafeMutablePointer<Float>?) -> (arena: Int, maxScratch: Int, persistent: Int, result: Int) {
        let r = walkSteps(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistent,
                          pixels: pixels, count: count, classes: classes, scores: scores, entries: nil)
        return (r.arena, r.maxScratch, r.persistent, r.result)
    }

    /// The walk over the model's steps (Steps/), one function for planning, preparing and running, so
    /// the three can never disagree. A step is one op, or a fused group: input_codes + a binary layer
    /// reading codes; a binary layer + [maxpool] + threshold_sign. A step reads its input at one end
    /// of the arena and writes its output at the other, with its scratch in between (ArenaPlan); affine,
    /// hardtanh and relu work in place. A planning pass given `entries` records each step there
    /// (`Interpreter.plan`); inlined into `walk` with `entries` nil, the recording folds away. Only the
    /// steps that start before op `endOp` run (`invoke(endOp:…)`, for profiles; every step where `walk`
    /// inlines this: the bound folds away).
    @_noAllocation @inline(__always)
    static func walkSteps(_ image: ModelImage, kernels: KernelSet, batch: Int, arena: UnsafeMutableRawPointer?, arenaBytes: Int,
                          persistent: Int, pixels: UnsafePointer<UInt8>?, count: Int, classes: UnsafeMutablePointer<Int>?,
                          scores: UnsafeMutablePointer<Float>?, entries: UnsafeMutableBufferPointer<PlanEntry>?, endOp: Int = Int.max)
        -> (arena: Int, maxScratch: Int, persistent: Int, result: Int, recorded: Int) {
        var s = WalkState(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistent,
                          pixels: pixels, count: count, classes: classes, scores: scores, entries: entries)
        // The op table through a local copy of the image: its fields stay in registers across the steps'
        // calls (which take the state inout), so the loop's dispatch costs what it did as one function.
        let table = image, ops = min(image.opCount, endOp)
        let recording: Bool   // a constant where `walk` inlines this, so the recording folds away there
        if case .some = entries { recording = true } else { recording = false }
        var k = 0
        while k < ops {
            switch table.opKind(k) {
            case .inputCodes: k = InputCodesStep.step(&s, op: k, recording: recording)
            case .dense, .conv2d: k = LayerStep.step(&s, op: k, recording: recording)
            case .maxpool2d: k = MaxPoolStep.step(&s, op: k, recording: recording)
            case .thresholdSign: k = ThresholdSignStep.step(&s, op: k, recording: recording)
            case .affine: k = AffineStep.step(&s, op: k, recording: recording)
            case .hardtanh, .relu: k = ActivationStep.step(&s, op: k, recording: recording)
            case .argmax: k = ArgmaxStep.step(&s, op: k, recording: recording)
            }
        }
        return (s.persistentAt + s.plan.needed, s.plan.maxScratch, s.persistentAt, s.result, s.recorded)
    }
}
