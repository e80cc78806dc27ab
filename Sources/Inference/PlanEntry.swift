import ModelFormat

/// One step of the arena plan, as `Interpreter.plan` reports it (`convert inspect` prints these): the ops
/// it runs, the kernel, and where its output, scratch and persistent data live in the arena (offsets
/// in bytes from the arena's start, -1 when there is none; sizes for the whole batch).
public struct PlanEntry: Equatable, Sendable {
    /// The step kinds (Steps/): each runs one op or a fused group.
    public enum Step: Equatable, Sendable, CaseIterable {
        /// input_codes on its own (not fused into the layer after it).
        case inputCodes
        /// A dense or conv layer with packed binary weights, with the input_codes before it and the
        /// [maxpool] + threshold_sign after it when fused.
        case binaryLayer
        /// A dense layer with ternary weights (format version 5): the chosen kernel runs on the upper plane and
        /// on the lower one into scratch, and the halved sum of the two goes where a binary layer's would.
        case ternaryLayer
        /// A dense or conv layer with f32 weights.
        case floatLayer
        case maxPool, thresholdSign, affine, activation, argmax
    }

    public var step: Step
    /// The first and last op the step runs (equal unless ops are fused).
    public var firstOp: Int, lastOp: Int
    /// What the kernel choice (KernelChoice.swift) picked for one image.
    public var kernel: Kernel
    /// The step's output (for in-place steps the value they rewrite; -1: the caller's scores).
    public var outputOffset: Int, outputBytes: Int
    public var scratchOffset: Int, scratchBytes: Int
    /// Data the prepare pass fills and `invoke` only reads (carry-save row counts).
    public var persistentOffset: Int, persistentBytes: Int

    @_noAllocation
    public init(step: Step, firstOp: Int, lastOp: Int, kernel: Kernel, outputOffset: Int, outputBytes: Int, scratchOffset: Int,
                scratchBytes: Int, persistentOffset: Int, persistentBytes: Int) {
        (self.step, self.firstOp, self.lastOp, self.kernel) = (step, firstOp, lastOp, kernel)
        (self.outputOffset, self.outputBytes, self.scratchOffset, self.scratchBytes) = (outputOffset, outputBytes, scratchOffset, scratchBytes)
        (self.persistentOffset, self.persistentBytes) = (persistentOffset, persistentBytes)
    }
}

extension Interpreter {
    /// The arena plan of `image` with `kernels` for batches of `batch` images, step by step, from the
    /// same walk that sizes, prepares and runs it (a planning pass that records each step; `invoke`
    /// records nothing). Empty when the plan does not fit in `Int` (`planFits`).
    public static func plan(image: ModelImage, kernels: KernelSet = .optimized, batch: Int = 1) -> [PlanEntry] {
        let batch = max(batch, 1)
        guard planFits(image, batch: batch) else { return [] }
        let sizes = walk(image, kernels: kernels, batch: batch, arena: nil, arenaBytes: 0, persistent: 0, pixels: nil, count: 0,
                         classes: nil, scores: nil)
        let none = PlanEntry(step: .argmax, firstOp: 0, lastOp: 0, kernel: .argmax, outputOffset: -1, outputBytes: 0,
                             scratchOffset: -1, scratchBytes: 0, persistentOffset: -1, persistentBytes: 0)
        var entries = [PlanEntry](repeating: none, count: image.opCount)
        let recorded = entries.withUnsafeMutableBufferPointer { buffer in
            walkSteps(image, kernels: kernels, batch: batch, arena: nil, arenaBytes: sizes.arena, persistent: sizes.persistent,
                      pixels: nil, count: 0, classes: nil, scores: nil, entries: buffer).recorded
        }
        return Array(entries.prefix(recorded))
    }
}
