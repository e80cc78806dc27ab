import CLISupport
import Datasets
import Foundation
import Trainer

/// Runs a plan's unfinished jobs on this machine, `jobs` at once: each is a `train reproduce job`
/// process with one BLAS thread (OPENBLAS_NUM_THREADS=1) and its output in `logs/KIND-ID.log`.
/// Jobs start cell by cell in the grid's order (an attack waits for its model; meanwhile the next model
/// starts), so the first tables complete early; a failed model's attacks are skipped, the rest go on.
/// Progress (one line per finished job) says what is left and an estimate of the time it takes.
final class GridRunner {
    let plan: GridPlan
    let store: GridStore
    let jobs: Int
    let tail: [String]
    let quiet: Bool
    private let start = Date()
    /// The job processes running, for the signal handlers (Foundation starts each in its own process
    /// group, so a Ctrl-C at the terminal reaches only this process).
    private let children = ChildProcesses()
    /// Seconds the run took so far.
    var elapsed: Double { Date().timeIntervalSince(start) }

    init(plan: GridPlan, store: GridStore, jobs: Int, tail: [String], quiet: Bool) {
        self.plan = plan
        self.store = store
        self.jobs = jobs
        self.tail = tail
        self.quiet = quiet
    }

    private struct Running {
        let process: Process
        let kind: GridStore.Kind
        let id: String
        let started: Date
    }

    /// Runs every unfinished job; returns the ids of those that failed (or could not start because their model failed).
    func run() throws -> [String] {
        guard let me = RunningExecutable.path else { throw ToolError.failure("cannot find this executable's path") }
        // Cell by cell in the grid's order (a cell's model, then its attack cells), so the first tables
        // complete early instead of every model training before any attack runs.
        var queue = Self.order(plan).filter { !store.isDone($0.kind, $0.id) }
        let total = queue.count
        let skipped = plan.models.count + plan.attacks.count - total
        say("reproduce: \(plan.cells.count) cells, \(plan.models.count) models, \(plan.attacks.count) attack cells; "
            + "\(skipped) jobs finished before, \(total) to run, \(jobs) at once")
        var running: [Running] = []
        var failed: [String] = []
        let handlers = children.forwardSignals()
        defer {
            handlers.forEach { $0.cancel() }
            for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
        }
        var finished = 0
        // Measured costs for the time left: CPU seconds per model epoch and per attack cell, by resource
        // class, from the logs of jobs finished before this run and then of this run's own.
        var estimate = GridEstimate(plan: plan, store: store)
        let done = DispatchSemaphore(value: 0)
        var lastLine = Date()
        while true {
            // Drop the attacks whose model or PGD start failed.
            let failedJobs = Set(failed)
            let dropped = { (q: Queued) in q.kind == .attack && (failedJobs.contains(q.model) || q.start.map(failedJobs.contains) == true) }
            for q in queue where dropped(q) { failed.append(q.id) }
            queue.removeAll(where: dropped)
            while running.count < jobs {
                // The first job in order that can start: a model, or an attack whose model (and PGD start) has finished.
                guard let i = queue.firstIndex(where: { $0.kind == .model || (store.isDone(.model, $0.model)
                                                         && $0.start.map { store.isDone(.attack, $0) } != false) }) else { break }
                let (kind, id) = (queue[i].kind, queue[i].id)
                queue.remove(at: i)
                // Finished meanwhile by another runner or by hand: starting it would truncate its log.
                if store.isDone(kind, id) { finished += 1; continue }
                let process = try launch(me, kind, id, signal: done)
                children.add(process)
                running.append(Running(process: process, kind: kind, id: id, started: Date()))
            }
            if running.isEmpty {
                // What is left waits on a job this run does not start (outside --cells, or --only): not run.
                if !queue.isEmpty {
                    say("reproduce: \(queue.count) jobs not run: they wait on a model or PGD start this run does not start (" +
                        queue.prefix(5).map { "\($0.kind.rawValue) \($0.id)" }.joined(separator: ", ") + (queue.count > 5 ? ", ..." : "") + ")")
                }
                break
            }
            _ = done.wait(timeout: .now() + 1)
            // A signal handler is stopping the jobs and will end the run.
            while children.isStopping { sleep(1) }
            // A long job (an FCN1 model takes hours) gets a status line every few minutes.
            if Date().timeIntervalSince(lastLine) >= Self.statusInterval, !running.isEmpty {
                lastLine = Date()
                say("[\(finished)/\(total)] running: " + running.map { r in
                    "\(r.kind.rawValue) \(r.id)" + (r.kind == .model ? Self.lastEpoch(store.log(.model, r.id)).map { " (\($0))" } ?? "" : "")
                        + " for \(formatDuration(Date().timeIntervalSince(r.started)))"
                }.joined(separator: ", ") + "; elapsed \(formatDuration(elapsed))")
            }
            for (i, r) in running.enumerated().reversed() where !r.process.isRunning {
                running.remove(at: i)
                children.remove(r.process)
                finished += 1
                let seconds = Date().timeIntervalSince(r.started)
                let ok = r.process.terminationStatus == 0 && store.isDone(r.kind, r.id)
                if ok {
                    // The job's CPU seconds from its log (as the seeds are), else its wall time.
                    let cost = GridCosts.cpuSeconds(log: store.log(r.kind, r.id)) ?? seconds
                    if r.kind == .model, let m = plan.model(r.id) { estimate.addModel(m, seconds: cost) }
                    if r.kind == .attack, let a = plan.attack(r.id) { estimate.addAttack(a, seconds: cost) }
                } else {
                    failed.append(r.id)
                }
                let left = queue.map { ($0.kind, $0.id) } + running.map { ($0.kind, $0.id) }
                let leftTime = estimate.remaining(models: left.compactMap { $0.0 == .model ? plan.model($0.1) : nil },
                                                  attacks: left.compactMap { $0.0 == .attack ? plan.attack($0.1) : nil }, jobs: jobs)
                let what = r.kind == .model ? "model \(r.id) (\(plan.model(r.id).map { $0.arguments.joined(separator: " ") } ?? ""))"
                    : "attack \(r.id) (\(plan.attack(r.id).map { "\($0.attack.rawValue) eps \($0.eps.text) on \($0.model)" } ?? ""))"
                lastLine = Date()
                say("[\(finished)/\(total)] " + (ok ? "" : "FAILED (exit \(r.process.terminationStatus), log \(store.log(r.kind, r.id))) ")
                    + "\(what) in \(formatDuration(seconds)); elapsed \(formatDuration(elapsed)), left \(leftTime)")
            }
        }
        return failed
    }

    /// A job waiting to run; `model` is its model's id (a model job's own), `start` an edge job's PGD start.
    struct Queued: Equatable {
        let kind: GridStore.Kind
        let id: String
        let model: String
        var start: String? = nil
    }

    /// Every job of `plan` in the order they run: cell by cell in the grid's order, a cell's model
    /// before its attack cells, each job once.
    static func order(_ plan: GridPlan) -> [Queued] {
        var seen: Set<String> = [], out: [Queued] = []
        for c in plan.cells {
            if plan.model(c.model) != nil, seen.insert(c.model).inserted { out.append(Queued(kind: .model, id: c.model, model: c.model)) }
            for id in c.attackJobs.joined() where plan.attack(id) != nil && seen.insert(id).inserted {
                out.append(Queued(kind: .attack, id: id, model: c.model, start: plan.attack(id)?.start))
            }
        }
        return out
    }

    /// Seconds between status lines while no job finishes.
    static let statusInterval = 300.0

    /// The last `epoch N/E` a model job's log shows (train fit's epoch lines), from its last 4 KiB.
    static func lastEpoch(_ log: String) -> String? {
        GridCosts.logTail(log)?.split(separator: "\n").last { $0.hasPrefix("epoch ") }?.split(separator: " ").prefix(2).joined(separator: " ")
    }

    private func launch(_ me: String, _ kind: GridStore.Kind, _ id: String, signal: DispatchSemaphore) throws -> Process {
        let log = store.log(kind, id)
        try FileManager.default.createDirectory(atPath: PathText.directory(of: log), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw ToolError.failure("cannot create the log file \(log)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: me)
        p.arguments = ["reproduce", "job", store.root, kind.rawValue, id] + tail
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        p.standardOutput = handle
        p.standardError = handle
        p.terminationHandler = { _ in signal.signal() }
        try p.run()
        try? handle.close()
        return p
    }

    private func say(_ s: String) {
        guard !quiet else { return }
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }
}

/// The runner's job processes, shared with its signal handlers: on SIGINT, SIGTERM or SIGHUP each
/// running job gets the same signal (a model's checkpoint holds its last finished epoch, a sweep's
/// journal its finished cells, so the next run resumes them) and the runner exits 128 + the signal.
final class ChildProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Process] = []
    private var stopping = false

    /// Whether a signal arrived (the handler is stopping the jobs and ends the process).
    var isStopping: Bool { lock.withLock { stopping } }

    func add(_ p: Process) { lock.withLock { processes.append(p) } }
    func remove(_ p: Process) { lock.withLock { processes.removeAll { $0 === p } } }

    /// Installs the handlers; cancel the sources to remove them.
    func forwardSignals() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM, SIGHUP].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let running = lock.withLock { stopping = true; return processes }
                for p in running where p.isRunning { kill(p.processIdentifier, sig) }
                for p in running { p.waitUntilExit() }
                FileHandle.standardError.write(Data("reproduce: stopped by signal \(sig); \(running.count) running jobs stopped; rerun the command to resume\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            return source
        }
    }
}
