import Foundation

/// Runs one independent job per image on `jobs` threads and hands each result back to the calling thread as it
/// arrives (`verify --jobs N`). Each image's search runs start to finish on one worker thread, so its CPU clock
/// (CLOCK_THREAD_CPUTIME_ID, `--clock cpu`) measures that image's work alone, whatever the others do; with one
/// job the work runs on the calling thread, in order, as before there were workers. The calling thread does
/// everything else (the runtime's checks, the journal, the output), so those need no locks.
enum ParallelImages {
    /// Searches run on threads with this much stack (the search keeps its own explicit stack on the heap; this
    /// covers the frames of the search and CaDiCaL's).
    static let stackBytes = 16 << 20

    /// Calls `work(i)` for each of `indices` on `jobs` threads (at most one per index) and `consume(i, result)`
    /// on the calling thread as each finishes, in the order they finish (in `indices` order with one job). If
    /// `consume` throws, no further image is started and the error is rethrown once the images already running
    /// have finished.
    static func run<Result: Sendable>(_ indices: [Int], jobs: Int, work: @escaping @Sendable (Int) -> Result,
                                      consume: (Int, Result) throws -> Void) throws {
        guard jobs > 1, indices.count > 1 else {
            for i in indices { try consume(i, work(i)) }
            return
        }
        let queue = Queue<Result>(indices)
        let workers = min(jobs, indices.count)
        for _ in 0..<workers {
            let thread = Thread { queue.serve(work) }
            thread.stackSize = stackBytes
            thread.start()
        }
        var failure: Error? = nil
        while let (i, result) = queue.nextResult(workers: workers) {
            guard failure == nil else { continue }
            do { try consume(i, result) } catch {
                failure = error
                queue.stop()
            }
        }
        if let failure { throw failure }
    }

    /// The indices still to start and the results not yet consumed, behind one lock.
    private final class Queue<Result: Sendable>: @unchecked Sendable {
        private let condition = NSCondition()
        private let indices: [Int]
        private var next = 0
        private var stopped = false
        private var results: [(Int, Result)] = []
        private var finishedWorkers = 0

        init(_ indices: [Int]) { self.indices = indices }

        /// A worker's loop: takes the next index until none is left (or the run stopped).
        func serve(_ work: (Int) -> Result) {
            while true {
                condition.lock()
                guard !stopped, next < indices.count else {
                    finishedWorkers += 1
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let i = indices[next]
                next += 1
                condition.unlock()
                let result = work(i)
                condition.lock()
                results.append((i, result))
                condition.broadcast()
                condition.unlock()
            }
        }

        /// Starts no further image.
        func stop() {
            condition.lock()
            stopped = true
            condition.unlock()
        }

        /// The next finished result, waiting for one; nil once every worker has ended and every result was taken.
        func nextResult(workers: Int) -> (Int, Result)? {
            condition.lock()
            defer { condition.unlock() }
            while results.isEmpty && finishedWorkers < workers { condition.wait() }
            return results.isEmpty ? nil : results.removeFirst()
        }
    }
}
