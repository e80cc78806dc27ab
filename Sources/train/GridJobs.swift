import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

/// One job of a grid run, on the same code paths as the commands a person types: a model is
/// `train fit` (resumed from its checkpoint when one exists) and `convert`; an attack cell is
/// `train sweep` on that model (with the runtime cross-check on its .bsm), and a fewer-bit edge cell
/// starts from its PGD job's kept run (`--edge-start`). A job whose marker exists has finished and is not redone.
enum GridJobs {
    /// Trains and converts model `id`; writes its marker last. Returns false when it had finished before.
    @discardableResult
    static func trainModel(_ id: String, store: GridStore, tail: [String]) throws -> Bool {
        if store.isDone(.model, id) { print("model \(id): finished before"); return false }
        let (arguments, _) = try store.readJob(.model, id)
        let checkpoint = store.checkpoint(id)
        // A checkpoint written after an earlier epoch: continue that run (train fit --resume; --epochs is the total).
        let resume = FileManager.default.fileExists(atPath: checkpoint) ? ["--resume", checkpoint] : []
        if !resume.isEmpty { print("model \(id): resuming from \(checkpoint)") }
        let fit = try parseStored(Fit.self, arguments + ["--out", checkpoint] + resume + tail, job: store.jobFile(.model, id))
        try fit.run()
        fflush(nil)  // fit's lines before convert's, in the log
        let convert = try executableBeside("convert")
        let status = try runProcess(convert, [checkpoint, "-o", store.modelFile(id)])
        guard status == 0 else { throw ToolError.failure("model \(id): convert exited \(status)") }
        let ck = try Checkpoint.read(path: checkpoint)
        var marker: [String: Any] = ["id": id, "arguments": arguments, "epochs": ck.progress.epochsCompleted]
        if let a = ck.progress.testAccuracy { marker["test_accuracy"] = a }
        try store.finish(.model, id, marker)
        print("model \(id): finished")
        return true
    }

    /// The sweep cell's fields a result keeps: numbers only (no times, paths or hashes of files that
    /// hold times), so the same job gives the same bytes wherever it ran.
    static let resultKeys = ["images", "clean_accuracy", "robust_accuracy", "successes", "clean_correct", "success_rate",
                             "max_perturbation", "mean_perturbation", "pixel_budget", "zero_gradient_fraction",
                             "runtime_accuracy", "runtime_disagreements"]

    /// Runs attack cell `id` on its finished model; writes its result last. Returns false when it had finished before.
    @discardableResult
    static func attack(_ id: String, store: GridStore, tail: [String]) throws -> Bool {
        if store.isDone(.attack, id) { print("attack \(id): finished before"); return false }
        let (arguments, model) = try store.readJob(.attack, id)
        guard let model, store.isDone(.model, model) else {
            throw ToolError.failure("attack \(id): its model \(model ?? "?") has not finished (run its model job first)")
        }
        let prefix = store.sweepPrefix(id)
        let links = try store.readLinks(id)
        var startOptions: [String] = []
        if links.keepsStart { startOptions = ["--save-start", store.startDirectory(id)] }
        if let start = links.start {
            // A fewer-bit edge cell starts from its PGD job's run (the same numbers as crafting it again).
            guard store.isDone(.attack, start) else {
                throw ToolError.failure("attack \(id): its PGD start, attack \(start), has not finished (run that job first)")
            }
            if FileManager.default.fileExists(atPath: EdgeStart.startFile(store.startDirectory(start))) {
                startOptions = ["--edge-start", store.startDirectory(start)]
                print("attack \(id): the edge attack starts from PGD job \(start)")
            } else {
                print("attack \(id): PGD job \(start) kept no run (it finished before it was asked to): the edge attack runs its own PGD")
            }
        }
        let sweep = try parseStored(SweepCommand.self, [store.checkpoint(model)] + arguments + startOptions + ["--out", prefix, "--bsm", store.modelFile(model)] + tail,
                                    job: store.jobFile(.attack, id))
        try sweep.run()
        let report = try GridStoreJSON.object(prefix + ".json")
        guard let cells = report["cells"] as? [[String: Any]], cells.count == 1 else {
            throw ToolError.failure("attack \(id): \(prefix).json does not hold exactly one cell")
        }
        var result: [String: Any] = ["id": id, "model": model, "attack": cells[0]["attack"] ?? NSNull(), "eps": cells[0]["eps"] ?? NSNull()]
        for (key, value) in cells[0] where resultKeys.contains(key) || key.hasPrefix("certified") { result[key] = value }
        try store.finish(.attack, id, result)
        print("attack \(id): finished")
        return true
    }

    /// A tool installed beside this executable (`convert`, `infer`).
    static func executableBeside(_ name: String) throws -> String {
        guard let dir = RunningExecutable.directory, FileManager.default.isExecutableFile(atPath: dir + "/" + name) else {
            throw ToolError.failure("cannot find the \(name) executable beside this one (build every product: swift build)")
        }
        return dir + "/" + name
    }

    /// Parses a job's stored arguments (with what the runner adds) as `C`. They come from the job file, not
    /// from the command line: any parse or validation error, `--help` and `--version` included (which
    /// would otherwise surface as `error: helpRequested(...)`), is the file's, exit 1, naming it.
    static func parseStored<C: ParsableCommand>(_ type: C.Type, _ arguments: [String], job: String) throws -> C {
        do { return try C.parse(arguments) } catch {
            let why = C.exitCode(for: error) == .success ? "they ask for help or the version, not a run" : C.message(for: error)
            throw ToolError.failure("\(job): its arguments \(arguments) do not run `train \(C.configuration.commandName ?? "\(C.self)")`: \(why)")
        }
    }

    /// Runs `path` with `arguments`, its output going to ours; returns the exit status.
    static func runProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// Reads the sweep's JSON report (the sweep's own file, bounded).
enum GridStoreJSON {
    static func object(_ path: String) throws -> [String: Any] {
        let bytes = try BoundedFile.contents(of: path, limit: 64 << 20, what: "sweep report")
        guard let o = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ToolError.failure("\(path): not a JSON object")
        }
        return o
    }
}
