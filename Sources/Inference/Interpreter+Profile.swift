import ModelFormat

extension Interpreter {
    /// Runs only the steps of the model (those `Interpreter.plan` lists) that start before op `endOp`, on
    /// `count` (1...batch) consecutive images: a profile times each prefix of the steps (up to the
    /// `lastOp + 1` of a plan entry), and a step's cost is the difference of two prefixes (`infer
    /// --profile`). The values of the steps not run are left as they were.
    /// No allocation, no validation.
    @_noAllocation
    public func invoke(endOp: Int, batch pixels: UnsafePointer<UInt8>, count: Int, classes: UnsafeMutablePointer<Int>) {
        precondition(count >= 1 && count <= batch, "invoke(endOp:batch:): count outside 1...batch")
        _ = Interpreter.walk(image, kernels: kernels, batch: batch, arena: arena, arenaBytes: arenaBytes, persistent: persistentBytes,
                             pixels: pixels, count: count, classes: classes, scores: nil, endOp: endOp)
    }
}
