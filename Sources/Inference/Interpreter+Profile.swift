import ModelFormat

#if !_pointerBitWidth(_32)
extension Interpreter {
    /// Runs only the steps of the model (those `Interpreter.plan` lists) that start before op `endOp`, on
    /// `count` (1...batch) consecutive images: a profile times each prefix of the steps (up to the
    /// `lastOp + 1` of a plan entry), and a step's cost is the difference of two prefixes (`infer
    /// --profile`). The values of the steps not run are left as they were.
    /// No allocation, no validation. A walk of its own (`invoke`'s walk has no bound to test): host
    /// targets only, so the firmware's code and instruction counts stay as they were.
    @_noAllocation
    public func invoke(endOp: Int, batch pixels: UnsafePointer<UInt8>, count: Int, classes: UnsafeMutablePointer<Int>) {
        precondition(count >= 1 && count <= batch, "invoke(endOp:batch:): count outside 1...batch")
        _ = Interpreter.walkSteps(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistentBytes,
                                  pixels: pixels, count: count, classes: classes, scores: nil, entries: nil, endOp: endOp)
    }
}
#endif
