import ModelFormat

/// The kinds of value between ops.
public enum ValueKind: Equatable, Sendable {
    /// The caller's 8-bit pixels.
    case pixels
    /// Eq. 2 codes, one byte each.
    case codes
    /// Packed signs (BitPacking.swift), in the value's `BitLayout`.
    case bits
    /// i32 accumulators.
    case i32
    /// f32 values.
    case f32
}

/// What `Interpreter.walk` carries from step to step, in all three passes (plan: no arena; prepare:
/// arena, no pixels; run: both): the pass, the current value (kind, shape, layout, where it is), input
/// codes a layer still has to form, the arena plan, and the persistent bytes so far. Each step
/// (Steps/*Step.swift) reads and updates it through one function for all three passes, so planning and
/// running cannot disagree.
struct WalkState {
    let image: ModelImage
    /// The interpreter's kernel set, resolved for this target.
    let kernels: KernelSet
    /// Images the arena is planned for.
    let batch: Int
    /// The arena (nil while planning).
    let arena: UnsafeMutableRawPointer?
    /// The caller's pixels (nil while planning and preparing).
    let pixels: UnsafePointer<UInt8>?
    /// Images in this run (0 while planning and preparing).
    let count: Int
    let classes: UnsafeMutablePointer<Int>?
    let scores: UnsafeMutablePointer<Float>?
    /// The run pass: arena and pixels given.
    let run: Bool
    /// The prepare pass: the arena given, no pixels (fills the persistent bytes).
    let prepare: Bool
    /// Where a planning pass records its steps (`Interpreter.plan`); nil in every other pass.
    let entries: UnsafeMutableBufferPointer<PlanEntry>?
    /// Steps recorded into `entries`.
    var recorded = 0

    /// The current value: its kind, shape and bit layout, and the bytes from one image's value to the next.
    var kind = ValueKind.pixels
    var h: Int, w: Int, c: Int
    var layout = BitLayout.flat
    var stride: Int
    /// > 0: the pixels still have to become codes of that many input bits (the next layer forms them).
    var pendingCodeBits = 0
    /// Where every value and scratch lives.
    var plan: ArenaPlan
    /// The persistent bytes of the steps so far (carry-save kernels only).
    var persistentAt = 0
    /// The class of image 0 (the run pass).
    var result = 0

    @_noAllocation @inline(__always)
    init(_ image: ModelImage, kernels: KernelSet, batch: Int, arena: UnsafeMutableRawPointer?, arenaBytes: Int, persistent: Int,
         pixels: UnsafePointer<UInt8>?, count: Int, classes: UnsafeMutablePointer<Int>?, scores: UnsafeMutablePointer<Float>?,
         entries: UnsafeMutableBufferPointer<PlanEntry>?) {
        (self.image, self.kernels, self.batch, self.arena, self.pixels) = (image, KernelSet.resolve(kernels), batch, arena, pixels)
        (self.count, self.classes, self.scores, self.entries) = (count, classes, scores, entries)
        run = arena != nil && pixels != nil
        prepare = arena != nil && pixels == nil
        (h, w, c) = (Int(image.header.inputHeight), Int(image.header.inputWidth), Int(image.header.inputChannels))
        stride = h * w * c
        plan = ArenaPlan(arenaBytes: arenaBytes, base: persistent)
    }

    /// Whether steps fuse (every kernel set but the reference, which runs the ops one by one).
    @_noAllocation @inline(__always)
    func fuse() -> Bool {
        if case .reference = kernels { return false }
        return true
    }

    /// Image 0's current value: the caller's pixels first, then in the arena (nil while planning).
    @_noAllocation @inline(__always)
    func input() -> UnsafeRawPointer? {
        if plan.external { return UnsafeRawPointer(pixels) }
        guard let arena else { return nil }
        return UnsafeRawPointer(arena + plan.inputAt)
    }

    /// Bytes of one image's value of `kind`, h x w x c, packed in `layout` when bits.
    @_noAllocation @inline(__always)
    static func bytes(_ kind: ValueKind, _ h: Int, _ w: Int, _ c: Int, _ layout: BitLayout) -> Int {
        switch kind {
        case .pixels, .codes: return h * w * c
        case .i32, .f32: return 4 * h * w * c
        case .bits: return layout == .flat ? 8 * BitPacking.words(h * w * c) : 8 * h * w * BitPacking.words(c)
        }
    }

    /// Records a step of ops `first ... last` into `entries`. Steps call it, when `recording`
    /// (`walkSteps`: `entries` given), where the run pass runs their kernel, so neither running nor
    /// plain planning does any of the recording's work.
    @_noAllocation @inline(__always)
    mutating func record(_ step: PlanEntry.Step, ops first: Int, _ last: Int, kernel: Kernel, output: Int, outputBytes: Int,
                         scratch: Int = -1, scratchBytes: Int = 0, persistent: Int = -1, persistentBytes: Int = 0) {
        guard let entries, recorded < entries.count else { return }
        entries[recorded] = PlanEntry(step: step, firstOp: first, lastOp: last, kernel: kernel, outputOffset: output,
                                      outputBytes: outputBytes, scratchOffset: scratch, scratchBytes: scratchBytes,
                                      persistentOffset: persistent, persistentBytes: persistentBytes)
        recorded += 1
    }

    /// Records an in-place step (affine, hardtanh, relu) or argmax (`output` -1: the caller's scores).
    @_noAllocation @inline(__always)
    mutating func recordInPlace(_ step: PlanEntry.Step, op k: Int, kernel: Kernel, output: Int? = nil) {
        let at = output ?? (plan.external ? -1 : plan.inputAt)
        record(step, ops: k, k, kernel: kernel, output: at, outputBytes: at < 0 ? 0 : batch * stride)
    }
}
