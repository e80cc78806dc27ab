import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

/// `train sweep`: every (model, attack, eps) cell, with reports, worst cases, sanity flags and resume.
struct SweepCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Attack checkpoints over several attacks and budgets; write Markdown, CSV, JSON and SVG reports.",
        discussion: """
        Example:
          train sweep runs/a.safetensors runs/b.safetensors --attacks fgsm,pgd,edge --eps 0.1,0.2,0.3 --out reports/mnist
        writes reports/mnist.md, .csv, .json and .svg (accuracy against eps per model and attack, the per-example worst case dashed).

        Each finished cell is appended to reports/mnist.jsonl; rerunning the same command skips the cells it holds, so an interrupted sweep resumes. While a sweep runs it holds an flock on reports/mnist.jsonl.lock: a second sweep with the same --out refuses (exit 1); a lock file left by a killed sweep does not block.

        Sanity flags (Carlini et al. 2019) are listed in the reports and printed on stdout; they are findings, not failures (exit 0).

        Where a .bsm file sits beside a checkpoint (same stem) or is given with --bsm, each adversarial set is also scored by the `infer` executable (beside this one, or --infer) and any disagreement is flagged; with --certify, the `verify` executable (beside this one, or --verify) also certifies the same clean test images per model and eps (the certified column; n/a without a .bsm, without verify, or for a model verify refuses). Without --certify the column says "not run": at verify's default 60 s per image, 10,000 images can take days per model and eps, so use --limit. An attack that leaves less than the certified accuracy is flagged as a bug; the report gives the gap between the strongest attack and the certified figure.
        """)

    @Argument(help: "Checkpoints written by `train`.")
    var checkpoints: [String]

    @Option(help: "Comma-separated attacks.")
    var attacks = CommaSeparated<AttackConfig.Kind>([.fgsm, .pgd, .edge])

    @Option(help: "Comma-separated budgets on the [0, 1] scale, each in \(TrainingConfig.Limits.epsilon.text).")
    var eps = CommaSeparated<Float>([0.1, 0.2, 0.3])

    @Option(help: "Output prefix: PREFIX.md, .csv, .json, .svg and the journal PREFIX.jsonl.")
    var out: String

    @Option(help: "A .bsm file per checkpoint, in the checkpoints' order (default: the same stem beside each).")
    var bsm: [String] = []

    @Option(help: "The infer executable for the runtime cross-check (default: beside this executable).")
    var infer: String?

    @Flag(help: "Run verify on each model's .bsm per eps for the certified column (slow: up to --verify-timeout per image).")
    var certify = false

    @Option(help: "With --certify: the verify executable (default: beside this executable).")
    var verify: String?

    @Option(help: "With --certify: verify's time limit per image, seconds (default 60; an unknown image is never counted as certified).")
    var verifyTimeout: Double?

    @Flag(help: "Keep the adversarial IDX sets written for the runtime (PREFIX-sets/).")
    var keepSets = false

    @Option(help: ArgumentHelp("Keep the PGD cell's run in DIR (its images, gradient counts and origin) for `--edge-start DIR`; one checkpoint, one eps.", valueName: "DIR"))
    var saveStart: String?

    @Option(help: ArgumentHelp("Start the edge cell from the PGD run kept in DIR by `--save-start` instead of re-running it (the same result, bit for bit, and the same gradient counts, the start's included); refused unless DIR is exactly this edge attack's start (model bytes, eps, seed, PGD settings, images). One checkpoint, one eps.", valueName: "DIR"))
    var edgeStart: String?

    @OptionGroup(title: "Attack settings") var settings: AttackOptions

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one checkpoint") }
        try requireFilePrefix(out, files: ["md", "csv", "json", "svg", "jsonl"].map { "\(out).\($0)" }, option: "--out")
        for e in eps.values { try checkOption("--eps", e, TrainingConfig.Limits.epsilon) }
        // The same cell twice is a slip of the command line, refused before anything runs.
        if let a = attacks.duplicate { throw ValidationError("--attacks names \(a.rawValue) twice") }
        if let e = eps.duplicate { throw ValidationError("--eps names \(e) twice") }
        for (i, path) in checkpoints.enumerated() {
            if let earlier = checkpoints[..<i].first(where: { FileIdentity.sameFile($0, path) }) {
                throw ValidationError("checkpoint \(path) is \(earlier) given again")
            }
        }
        try settings.check(attacks.values, option: "--attacks")
        if let infer, !FileManager.default.isExecutableFile(atPath: infer) {
            throw ValidationError("--infer \(infer) is not an executable file")
        }
        if let verify, !FileManager.default.isExecutableFile(atPath: verify) {
            throw ValidationError("--verify \(verify) is not an executable file")
        }
        if let verifyTimeout, !(verifyTimeout.isFinite && verifyTimeout > 0 && verifyTimeout <= 1e6) {
            throw ValidationError("--verify-timeout \(verifyTimeout) must be in (0, 1000000] seconds")
        }
        // verify's settings without --certify would be silently ignored: a slip of the command line.
        if !certify, let given = verify != nil ? "--verify" : verifyTimeout != nil ? "--verify-timeout" : nil {
            throw ValidationError("\(given) is given without --certify (verify runs only with --certify)")
        }
        var starts = SweepSettings(models: checkpoints, attacks: attacks.values, epsilons: eps.values, template: settings.config(.fgsm, eps: 0),
                                   out: out, dataDirectory: "")
        starts.saveStart = saveStart
        starts.edgeStart = edgeStart
        if let problem = starts.startProblem { throw ValidationError(problem) }
        // A DIR that is a file, or under one, is refused before the PGD cell runs.
        if let saveStart { try requireWritableFile(EdgeStart.startFile(saveStart), option: "--save-start") }
        if !bsm.isEmpty && bsm.count != checkpoints.count {
            throw ValidationError("--bsm given \(bsm.count) times for \(checkpoints.count) checkpoints")
        }
    }

    /// A tool executable (infer, verify): given, or beside the running one (found through /proc/self/exe,
    /// never through argv[0], which a shell sets to the bare name it found on PATH: resolved against the
    /// working directory, that names the wrong file or none).
    func executable(_ name: String, given: String?) -> String? {
        if let given { return given }
        guard let me = RunningExecutable.path else { return nil }
        let beside = PathText.directory(of: me) + "/" + name
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : nil
    }

    func execute() throws {
        let template = settings.config(.fgsm, eps: 0)
        var runtime = [String: String]()
        for (c, b) in zip(checkpoints, bsm) { runtime[c] = b }
        var sweepSettings = SweepSettings(models: checkpoints, attacks: attacks.values, epsilons: eps.values,
                                     template: template, limit: settings.limit, out: out,
                                     dataDirectory: DataDirectory.resolve(explicit: common.dataDir), source: settings.source,
                                     runtimeModels: runtime, inferExecutable: executable("infer", given: infer), keepSets: keepSets)
        sweepSettings.memoryBudget = common.memoryBudgetBytes
        sweepSettings.verifyExecutable = executable("verify", given: verify)
        sweepSettings.certify = certify
        sweepSettings.verifyTimeout = verifyTimeout ?? sweepSettings.verifyTimeout
        sweepSettings.saveStart = saveStart
        sweepSettings.edgeStart = edgeStart
        let sweep = try RobustnessSweep(settings: sweepSettings)
        let live = !common.quiet && isatty(STDERR_FILENO) != 0
        let start = Date()
        var lastCell = 0
        let (report, ran, skipped, ignored) = try sweep.run { p in
            guard !common.quiet else { return }
            let elapsed = Int(Date().timeIntervalSince(start))
            let line = "[\(p.cell)/\(p.cells)] \(ReportEscaping.terminal(p.label)): " + (p.skipped ? "done before, skipped" : "\(p.done)/\(p.total) images") + " (\(elapsed) s)"
            if live {
                FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
            } else if p.done == p.total && p.cell != lastCell {
                lastCell = p.cell
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
        if live { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        for problem in ignored { printWarning(ReportEscaping.terminal(problem)) }
        print("sweep: \(report.cells.count) cells (\(ran) run now, \(skipped) from \(sweep.journalPath)); wrote \(out).md, .csv, .json, .svg")
        for c in report.cells {
            print(String(format: "%@ %@ eps %.3g: clean %.2f%%, robust %.2f%%, success %d/%d, %.1f s", ReportEscaping.terminal(c.modelName), c.attack, c.eps,
                         c.cleanAccuracy * 100, c.robustAccuracy * 100, c.successes, c.cleanCorrect, c.seconds))
        }
        for w in report.worstCases {
            print(String(format: "worst case %@ eps %.3g over %@: %.2f%% (%d/%d)", ReportEscaping.terminal(w.model), w.eps, w.attacks.joined(separator: ","),
                         w.robustAccuracy * 100, w.robust, w.images))
        }
        for g in SweepReport.certifiedGaps(report.cells) {
            print(String(format: "certified %@ eps %.3g: %.2f%% (%d/%d, %d unknown); strongest attack %@ %.2f%%, gap %.2f points",
                         ReportEscaping.terminal(g.model), g.eps, g.certifiedAccuracy * 100, g.certifiedRobust, g.images, g.certifiedUnknown,
                         g.strongestAttack, g.strongestRobustAccuracy * 100, g.gapPoints))
        }
        for f in report.flags {
            let line = ReportEscaping.terminal("flag \(f.kind): \(f.model)\(f.eps.map { " eps \($0)" } ?? ""): \(f.message)")
            print(line)
        }
        if common.json {
            var object = report.summaryObject(includeCells: false)
            object["cells_run"] = ran
            object["cells_skipped"] = skipped
            object["files"] = ["md", "csv", "json", "svg", "jsonl"].map { "\(out).\($0)" }
            print(try jsonLine(object))
        }
    }
}
