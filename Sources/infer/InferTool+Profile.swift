import Foundation
import Inference

// `infer --profile`: where the time goes, step by step (the steps `Interpreter.plan` lists: a fused
// first layer with its input bit-planes, each hidden layer with its threshold sink, the affine, the
// argmax). Each prefix of the steps (the first s of them, `Interpreter.invoke(steps:…)`) is timed over
// the images in batches, the prefixes in turn, many rounds; a step's ns per image is the median of its
// prefix minus the median of the one before (prefix 0 runs no step: the call and the walk's setup). Times are the thread's CPU time, so other jobs on the
// machine do not count.

/// The thread's CPU time in ns.
func threadNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// ns per image of each step of `interpreter` (prepared for `batch`; step s ends before op `ends[s]`), over
/// the first 2,048 images (at least one batch) from `pixels`.
func stepProfile(_ interpreter: Interpreter, ends: [Int], batch: Int, pixels: UnsafePointer<UInt8>, count: Int, imageSize: Int,
                 classes: UnsafeMutablePointer<Int>, rounds: Int = 21) -> [Double] {
    let images = min(count, max(batch, 2_048))
    let prefixes = [0] + ends
    var samples = [[Double]](repeating: [], count: prefixes.count)
    for _ in 0..<rounds {
        for s in 0..<prefixes.count {
            let start = threadNanoseconds()
            var first = 0
            while first < images {
                let n = min(batch, images - first)
                interpreter.invoke(endOp: prefixes[s], batch: pixels + first * imageSize, count: n, classes: classes)
                first += n
            }
            samples[s].append(Double(threadNanoseconds() - start) / Double(images))
        }
    }
    let medians = samples.map { $0.sorted()[$0.count / 2] }
    return (1..<prefixes.count).map { medians[$0] - medians[$0 - 1] }
}

extension InferTool {
    /// The `--profile` table: per step, its kernel and ns per image at batch 1 and at `batch`, one thread.
    func printProfile(batchOne: Interpreter, batched: Interpreter, batch: Int, pixels: UnsafePointer<UInt8>, count: Int, imageSize: Int) {
        let plan = Interpreter.plan(image: batched.image, kernels: kernels, batch: batch)
        let classes = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        defer { classes.deallocate() }
        let ends = plan.map { $0.lastOp + 1 }
        let one = stepProfile(batchOne, ends: ends, batch: 1, pixels: pixels, count: count, imageSize: imageSize, classes: classes)
        let many = stepProfile(batched, ends: ends, batch: batch, pixels: pixels, count: count, imageSize: imageSize, classes: classes)
        print("profile (ns per image, one thread, thread CPU time; each step's prefix minus the one before, medians):")
        func cell(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        print("  step  ops    kernel (batch 1)          batch 1  batch \(batch)")
        for (i, e) in plan.enumerated() {
            let ops = e.firstOp == e.lastOp ? "\(e.firstOp)" : "\(e.firstOp)-\(e.lastOp)"
            print("  " + cell("\(i)", 4) + "  " + cell(ops, 5) + "  " + cell(String(describing: e.kernel), 24) + String(format: "%9.0f  %9.0f", one[i], many[i]))
        }
        print("  " + cell("total", 39) + String(format: "%9.0f  %9.0f", one.reduce(0, +), many.reduce(0, +)))
    }
}
