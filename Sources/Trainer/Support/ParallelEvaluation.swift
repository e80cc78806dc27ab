import Datasets
import Dispatch
import Foundation

/// Evaluation-mode forward passes over both cores (issue 15): the batches of a data set go to workers,
/// batch k to worker k mod workers, each worker with its own copy of the network (layers cache their
/// inputs in `forward`, so one network cannot run two batches at once). A copy shares the original's
/// weight and statistics arrays (copy-on-write: nothing is copied while nobody writes) and drops its
/// gradients. OpenBLAS always runs one thread per call (`Parallel.workers`) and a product is split into the
/// same fixed halves however many threads run them, so each batch is multiplied the same way and the scores
/// do not depend on the number of workers (`ParallelEvaluationTests`).
public enum ParallelEvaluation {
    /// Workers by default: the machine's active cores, at most 8.
    public static var defaultWorkers: Int { min(8, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// The evaluation-mode outputs of `network` on every image of `data`, row by row, in batches of
    /// `batchSize` starting at image 0, over `workers` workers (at most one per batch).
    public static func forward(_ network: Network, on data: ImageSet, batchSize: Int, workers: Int = defaultWorkers) -> [Float] {
        let classes = network.config.classes
        let batches = (data.count + batchSize - 1) / batchSize
        guard batches > 0 else { return [] }
        // A copy the default memory budget refuses (a network built with a larger one) means fewer workers.
        var copies = [network]
        while copies.count < min(workers, batches), let copy = try? network.evaluationCopy() { copies.append(copy) }
        let used = copies.count
        var out = [Float](repeating: 0, count: data.count * classes)
        out.withUnsafeMutableBufferPointer { o in
            // Worker w writes only the rows of its own batches.
            nonisolated(unsafe) let (nets, set, base) = (copies, data, o.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: used) { w in
                var b = w
                while b < batches {
                    let start = b * batchSize, end = min(start + batchSize, set.count)
                    let (x, _) = TrainingSession.batch(set, indices: start..<end)
                    var context = ForwardContext.evaluation
                    let y = nets[w].forward(x, context: &context)
                    y.data.withUnsafeBufferPointer { (base + start * classes).update(from: $0.baseAddress!, count: $0.count) }
                    b += used
                }
            }
        }
        return out
    }
}

extension Network {
    /// A network that computes what this one does in evaluation mode, with its own layer caches: the
    /// same configuration, sharing this one's parameter and state arrays, without gradients.
    func evaluationCopy() throws(TrainerError) -> Network {
        let copy = try Network(config: config, seed: 0)
        for (mine, theirs) in zip(copy.parameters, parameters) {
            mine.value = theirs.value
            mine.grad = []
        }
        for (mine, theirs) in zip(copy.state, state) { mine.value = theirs.value }
        return copy
    }
}
