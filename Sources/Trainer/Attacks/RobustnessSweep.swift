import Datasets
import Foundation
import ModelFile

// A robustness sweep: every (model, eps, attack) cell on a checkpoint's test set, written as Markdown,
// CSV, JSON and SVG reports with per-example worst cases and the sanity flags of Carlini et al. 2019,
// "On Evaluating Adversarial Robustness" (SweepReport.swift). Each finished cell is appended to
// PREFIX.jsonl at once; a rerun reads it and skips the cells it holds (same checkpoint path and bytes,
// attack, settings, eps and image count; lines that fail `SweepCell.problem` are ignored with a warning),
// so an interrupted sweep resumes where it stopped. PREFIX.jsonl.lock (a `FileLock`) keeps a second sweep
// from writing the same journal at the same time.
// Cross-check with the runtime: when a .bsm model sits beside a checkpoint (same stem) or is given, each
// cell's stored adversarial set is written as IDX and scored by the `infer` executable in a subprocess
// (the trainer never links the runtime); any image on which the two disagree is reported and flagged.

/// What a sweep runs.
public struct SweepSettings: Sendable {
    /// Checkpoint paths.
    public var models: [String]
    /// Attacks, in report order.
    public var attacks: [AttackConfig.Kind]
    /// Budgets on the [0, 1] scale.
    public var epsilons: [Float]
    /// Settings shared by every attack (kind and epsilon are set per cell).
    public var template: AttackConfig
    /// Attack only the first N test images.
    public var limit: Int?
    /// Output prefix: PREFIX.md, .csv, .json, .svg and the journal PREFIX.jsonl.
    public var out: String
    /// Data cache directory.
    public var dataDirectory: String
    /// A test set to use instead of the checkpoints' (tests).
    public var testSet: ImageSet?
    /// Transfer attacks: the checkpoint the examples are crafted on.
    public var source: String?
    /// .bsm files by checkpoint path, overriding the same-stem file beside a checkpoint.
    public var runtimeModels: [String: String]
    /// The `infer` executable; nil skips the runtime cross-check with a note.
    public var inferExecutable: String?
    /// Keep the adversarial IDX sets written for the runtime (PREFIX-sets/).
    public var keepSets: Bool
    /// Run `verify` for the certified column (`train sweep --certify`). Off by default: at 60 s per image,
    /// certifying 10,000 images is days per model and budget; off, every cell's note says so.
    public var certify = false
    /// The `verify` executable for the certified column; nil: the column says n/a.
    public var verifyExecutable: String?
    /// verify's time limit per image, seconds.
    public var verifyTimeout = 60.0
    /// Seconds verify may run past twice (images x `verifyTimeout`) before it is killed and the figure is n/a
    /// (a verify that hangs, or ignores its time limit, must not hang the sweep).
    public var verifyGrace = 120.0
    /// Seconds per image the runtime cross-check's `infer` may take before it is killed and the cell's runtime
    /// note says so (an `infer` that hangs must not hang the sweep). The runtime scores an image in microseconds
    /// (the float conv net in about 0.35 ms), so 0.25 s is hundreds of times that, even in a debug build; the
    /// limit is this times the images plus `verifyGrace`.
    public var inferSecondsPerImage = 0.25
    /// Most bytes one model's network may take (ModelConfig+Bounds.swift).
    public var memoryBudget = ModelConfig.defaultMemoryBudget
    /// Keep the PGD cell's run in this directory for an edge attack to start from (`--save-start`,
    /// EdgeStart+Stored.swift); the sweep must have one model, one eps and PGD among its attacks.
    public var saveStart: String?
    /// Start the edge cell from the PGD run stored in this directory (`--edge-start`) instead of re-running
    /// it; refused unless it is exactly this edge attack's start. One model, one eps, the edge attack.
    public var edgeStart: String?

    /// Why `saveStart` or `edgeStart` cannot be used with these settings, or nil.
    public var startProblem: String? {
        for (option, dir, kind) in [("--save-start", saveStart, AttackConfig.Kind.pgd), ("--edge-start", edgeStart, .edge)] {
            guard dir != nil else { continue }
            if models.count != 1 || epsilons.count != 1 {
                return "\(option) keeps one PGD run: give one checkpoint and one eps (got \(models.count) and \(epsilons.count))"
            }
            if !attacks.contains(kind) { return "\(option) needs the \(kind.rawValue) attack among --attacks" }
        }
        if let a = saveStart, let b = edgeStart, FileIdentity.sameFile(a, b) { return "--save-start and --edge-start name one directory, \(a)" }
        return nil
    }

    /// Settings with the defaults of `train sweep`.
    public init(models: [String], attacks: [AttackConfig.Kind], epsilons: [Float], template: AttackConfig,
                limit: Int? = nil, out: String, dataDirectory: String, testSet: ImageSet? = nil, source: String? = nil,
                runtimeModels: [String: String] = [:], inferExecutable: String? = nil, keepSets: Bool = false) {
        self.models = models
        self.attacks = attacks
        self.epsilons = epsilons
        self.template = template
        self.limit = limit
        self.out = out
        self.dataDirectory = dataDirectory
        self.testSet = testSet
        self.source = source
        self.runtimeModels = runtimeModels
        self.inferExecutable = inferExecutable
        self.keepSets = keepSets
    }
}

/// Where a sweep is, for progress displays.
public struct SweepProgress: Sendable {
    /// 1-based index of the cell.
    public var cell: Int
    /// Cells in the sweep.
    public var cells: Int
    /// Model name, attack and eps of the cell.
    public var label: String
    /// Images attacked so far in this cell, and in all.
    public var done: Int
    public var total: Int
    /// The cell was already in the journal.
    public var skipped: Bool
}

/// Runs a sweep and writes its reports.
public struct RobustnessSweep {
    /// What to run.
    public let settings: SweepSettings

    /// A sweep; checks the settings.
    public init(settings: SweepSettings) throws(TrainerError) {
        guard !settings.models.isEmpty else { throw .invalidConfig("a sweep needs at least one model") }
        guard !settings.attacks.isEmpty else { throw .invalidConfig("a sweep needs at least one attack") }
        guard !settings.epsilons.isEmpty else { throw .invalidConfig("a sweep needs at least one eps") }
        for eps in settings.epsilons {
            var c = settings.template
            c.epsilon = eps
            try c.validate()
        }
        if settings.attacks.contains(.transfer) && settings.source == nil {
            throw .invalidConfig("the transfer attack needs a source checkpoint")
        }
        if let problem = PathText.outputPrefixProblem(settings.out) { throw .invalidConfig("the output prefix \(problem)") }
        if let problem = settings.startProblem { throw .invalidConfig(problem) }
        for (i, path) in settings.models.enumerated() {
            if let earlier = settings.models[..<i].first(where: { FileIdentity.sameFile($0, path) }) {
                throw .invalidConfig("checkpoint \(path) is \(earlier) given again")
            }
        }
        self.settings = settings
    }

    /// The journal of finished cells.
    public var journalPath: String { settings.out + ".jsonl" }

    /// The cells already in the journal (a torn last line, from an interrupted write, is ignored).
    public func finishedCells() -> [SweepCell] { readJournal().cells }

    /// The journal's cells, and why each line that decodes but cannot be a report row (`SweepCell.problem`:
    /// an edited mask, counts that do not fit) was ignored; such a cell runs again. A torn last line is
    /// ignored silently.
    public func readJournal() -> (cells: [SweepCell], problems: [String]) {
        guard let data = FileManager.default.contents(atPath: journalPath) else { return ([], []) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var cells: [SweepCell] = [], problems: [String] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let cell = try? decoder.decode(SweepCell.self, from: Data(line.utf8)) else { continue }
            if let problem = cell.problem {
                problems.append("\(journalPath) line \(n + 1) (\(cell.modelName) \(cell.attack) eps \(cell.eps)) ignored: \(problem); the cell runs again")
            } else {
                cells.append(cell)
            }
        }
        return (cells, problems)
    }

    /// The label of each model in tables and plots: its file stem, or, where stems collide (`a/m` and
    /// `b/m`, or two copies), the path as given, so that every model has its own rows and worst cases.
    static func displayNames(_ paths: [String]) -> [String] {
        var names = paths.map(PathText.stem(of:))
        while true {
            var count = [String: Int]()
            for name in names { count[name, default: 0] += 1 }
            let clashing = names.indices.filter { count[names[$0]]! > 1 && names[$0] != paths[$0] }
            if clashing.isEmpty { return names }
            for i in clashing { names[i] = paths[i] }
        }
    }

    /// Runs the cells not in the journal, then writes the reports from every cell of this sweep.
    /// Returns the report, how many cells ran now and were skipped as already finished, and the journal
    /// lines ignored (`readJournal`). A journal cell whose runtime cross-check did not run is not final:
    /// it runs again when the check can run now (a .bsm and an `infer` executable are found).
    public func run(progress: (SweepProgress) -> Void = { _ in }) throws(TrainerError)
        -> (report: SweepReport, ran: Int, skipped: Int, ignored: [String]) {
        let directory = PathText.directory(of: settings.out)
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try refuseOverwritingInputs()
        let lock = try lockJournal()
        defer { lock.release() }
        var finished = [String: SweepCell]()
        let journal = readJournal()
        for cell in journal.cells { finished[cell.key] = cell }
        let names = Self.displayNames(settings.models)
        let source = try settings.source.map { path throws(TrainerError) in
            try Checkpoint.read(path: path).makeNetwork(path: path, memoryBudget: settings.memoryBudget)
        }
        // The transfer source as given and the start of its SHA-256: two sources of one file name, or one
        // retrained in place, are other cells.
        let sourceLabel = try settings.source.map { path throws(TrainerError) in "\(path)@\(try Self.sha256(path: path).prefix(12))" }
        let total = settings.models.count * settings.epsilons.count * settings.attacks.count
        var cells: [SweepCell] = []
        var ran = 0, skipped = 0, index = 0
        var testSets = [String: ImageSet]()
        for (path, name) in zip(settings.models, names) {
            var certified = [Float: CertifiedFigure]()
            // This sweep's PGD runs by eps: an edge cell of the same settings starts from one (bit-identical).
            var pgdRuns = [Float: (config: AttackConfig, result: AttackResult)]()
            let checkpoint = try Checkpoint.read(path: path)
            let network = try checkpoint.makeNetwork(path: path, memoryBudget: settings.memoryBudget)
            let sha = try Self.sha256(path: path)
            let test: ImageSet
            if let given = settings.testSet {
                test = given.prefix(settings.limit)
            } else if let cached = testSets[checkpoint.training.dataset] {
                test = cached
            } else {
                do {
                    test = try Dataset.named(checkpoint.training.dataset).load(.test, dataDirectory: settings.dataDirectory)
                        .prefix(settings.limit)
                } catch { throw .dataset(error) }
                testSets[checkpoint.training.dataset] = test
            }
            try network.checkFits(test, role: "\(path): test set")
            if settings.attacks.contains(.transfer), let source { try source.checkFits(test, role: "\(path): test set (transfer source)") }
            for eps in settings.epsilons {
                // eps as written (0.1, not 0.10000000149011612).
                let epsValue = Double("\(eps)") ?? Double(eps)
                for kind in settings.attacks {
                    index += 1
                    var config = settings.template
                    config.kind = kind
                    config.epsilon = eps
                    var described = config.journalSettings
                    if kind == .transfer, let sourceLabel { described += " source=\(sourceLabel)" }
                    let key = SweepCell.key(model: path, sha256: sha, attack: kind.rawValue, settings: described, eps: epsValue, images: test.count)
                    let label = "\(name) \(kind.rawValue) eps \(eps)"
                    // A PGD cell whose run is to be kept runs again when the kept run is not there.
                    // (Hashing the attacked images: only for a cell that keeps or takes a stored run.)
                    let origin = { EdgeStart.Origin(config: config, modelSHA256: sha, data: test) }
                    let unsaved = kind == .pgd && settings.saveStart.map { !EdgeStart.isStored(in: $0, origin: origin()) } ?? false
                    if var done = finished[key], !(done.runtimeAccuracy == nil && canCrossCheck(path)), !unsaved {
                        done.modelName = name
                        // A cell journaled without --certify, resumed with it: the attack stands, verify runs now.
                        if settings.certify && done.certifiedNote == CertifiedFigure.notRunNote {
                            if certified[eps] == nil { certified[eps] = certify(model: path, name: name, test: test, eps: eps) }
                            certified[eps]!.apply(to: &done)
                            try append(done)
                        }
                        cells.append(done)
                        skipped += 1
                        progress(SweepProgress(cell: index, cells: total, label: label, done: test.count, total: test.count, skipped: true))
                        continue
                    }
                    let attacker = try Attacker(network: network, config: config, source: kind == .transfer ? source : nil)
                    var start: EdgeStart?
                    if kind == .edge, let dir = settings.edgeStart {
                        start = try EdgeStart.load(from: dir, origin: origin(), shape: (test.height, test.width, test.channels), classes: test.classes)
                    } else if kind == .edge, let pgd = pgdRuns[eps], pgd.config == config.edgeStart {
                        start = EdgeStart(pgd: pgd.result)
                    }
                    let result = try attacker.run(on: test, start: start) { done, all in
                        progress(SweepProgress(cell: index, cells: total, label: label, done: done, total: all, skipped: false))
                    }
                    if kind == .pgd {
                        pgdRuns[eps] = (config, result)
                        if let dir = settings.saveStart { try EdgeStart.save(result, origin: origin(), to: dir) }
                    }
                    let predictions = try Evaluation.predictions(network, on: result.images)
                    let robust = (0..<test.count).map { predictions[$0] == Int(test.labels[$0]) }
                    var cell = SweepCell(
                        model: path, modelName: name, modelSummary: checkpoint.model.summary, sha256: sha,
                        inputBits: checkpoint.model.inputBits, precision: checkpoint.model.precision.rawValue,
                        attack: kind.rawValue, settings: described, eps: epsValue, pixelBudget: config.pixelBudget,
                        images: test.count, cleanAccuracy: result.cleanAccuracy, robustAccuracy: result.robustAccuracy,
                        successes: result.successes, cleanCorrect: result.cleanCorrect, successRate: result.successRate,
                        meanPerturbation: result.meanPerturbation, maxPerturbation: result.maxPerturbation,
                        zeroGradientFraction: result.zeroGradientFraction, seconds: result.seconds,
                        robustMask: SweepCell.mask(robust))
                    crossCheck(&cell, model: path, images: result.images, robust: robust)
                    if certified[eps] == nil {
                        certified[eps] = settings.certify ? certify(model: path, name: name, test: test, eps: eps) : .notRun
                    }
                    certified[eps]!.apply(to: &cell)
                    try append(cell)
                    cells.append(cell)
                    ran += 1
                }
            }
        }
        let report = SweepReport(name: PathText.lastComponent(of: settings.out), cells: cells)
        try report.write(prefix: settings.out)
        return (report, ran, skipped, journal.problems)
    }

    /// The lock file held while a sweep writes the journal.
    public var lockPath: String { journalPath + ".lock" }

    /// Every file the sweep writes: the reports, the journal and its lock.
    public var outputPaths: [String] {
        ["md", "csv", "json", "svg", "jsonl", "jsonl.lock"].map { settings.out + "." + $0 } + (settings.saveStart.map(EdgeStart.files(in:)) ?? [])
    }

    /// Every file the sweep reads: checkpoints, their .bsm files, the transfer source, the `infer`
    /// executable and the data set files.
    var inputPaths: [String] {
        var inputs = settings.models + settings.models.compactMap(runtimeModel(for:))
        if let source = settings.source { inputs.append(source) }
        if let infer = settings.inferExecutable { inputs.append(infer) }
        if let verify = settings.verifyExecutable { inputs.append(verify) }
        if let start = settings.edgeStart { inputs += EdgeStart.files(in: start) }
        return inputs + Dataset.allCases.flatMap { $0.files(dataDirectory: settings.dataDirectory) }
    }

    /// Refuses a sweep whose output prefix would overwrite one of its inputs, naming both.
    func refuseOverwritingInputs() throws(TrainerError) {
        do { try FileIdentity.requireDistinct(outputs: outputPaths, inputs: inputPaths) } catch { throw .dataset(error) }
    }

    /// Takes the journal's lock (`FileLock` on PREFIX.jsonl.lock), held for the sweep's life, so two
    /// sweeps never append to one journal.
    func lockJournal() throws(TrainerError) -> FileLock {
        do { return try FileLock(path: lockPath, protecting: journalPath, holder: "sweep") } catch { throw .dataset(error) }
    }

    /// Appends one cell to the journal as one JSON line.
    func append(_ cell: SweepCell) throws(TrainerError) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line: Data
        do { line = try encoder.encode(cell) + Data("\n".utf8) } catch {
            throw .io(path: journalPath, reason: "cannot encode the cell: \(error)")
        }
        if !FileManager.default.fileExists(atPath: journalPath) {
            guard FileManager.default.createFile(atPath: journalPath, contents: nil) else {
                throw .io(path: journalPath, reason: "cannot create the journal")
            }
        }
        do {
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: journalPath))
            defer { try? handle.close() }
            let end = try handle.seekToEnd()
            // A torn last line (interrupted append) gets its own line end, so this cell's line parses.
            if end > 0 {
                try handle.seek(toOffset: end - 1)
                let last = try handle.read(upToCount: 1)
                try handle.seekToEnd()
                if last != Data("\n".utf8) { try handle.write(contentsOf: Data("\n".utf8)) }
            }
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw .io(path: journalPath, reason: "cannot append \(line.count) bytes: \(error)")
        }
    }

    /// The .bsm file for a checkpoint: given, or beside it with the same stem.
    func runtimeModel(for path: String) -> String? {
        if let given = settings.runtimeModels[path] { return given }
        let beside = PathText.deletingExtension(of: path) + ".bsm"
        return FileManager.default.fileExists(atPath: beside) ? beside : nil
    }

    /// The `infer` executable, when it is one.
    var inferExecutable: String? {
        settings.inferExecutable.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    /// Whether the runtime cross-check can run for the checkpoint at `path`: a .bsm and `infer` are there.
    func canCrossCheck(_ path: String) -> Bool { runtimeModel(for: path) != nil && inferExecutable != nil }

    /// Scores the cell's stored images with `infer` and records agreement, or why it did not run.
    func crossCheck(_ cell: inout SweepCell, model path: String, images: ImageSet, robust: [Bool]) {
        guard let bsm = runtimeModel(for: path) else {
            cell.runtimeNote = "no .bsm beside the checkpoint"
            return
        }
        guard let infer = inferExecutable else {
            cell.runtimeNote = "infer executable not found (\(settings.inferExecutable.map { "\($0) is not an executable file" } ?? "none beside this one")"
                + "; pass --infer): not cross-checked, and the cell runs again once infer is found"
            return
        }
        let dir = settings.out + "-sets"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The name may be a path (displayNames): one file name in the sets directory.
        let prefix = dir + "/\(cell.modelName.replacingOccurrences(of: "/", with: "_"))-\(cell.attack)-\(cell.eps)"
        let predictionsFile = prefix + "-runtime-predictions.txt"
        let scratch = images.idxPaths(prefix: prefix) + [predictionsFile]
        // These files are written and then removed: never when one of them is an input.
        do { try FileIdentity.requireDistinct(outputs: scratch, inputs: inputPaths) } catch {
            cell.runtimeNote = "not cross-checked: \(error)"
            return
        }
        defer {
            if !settings.keepSets {
                for path in scratch { try? FileManager.default.removeItem(atPath: path) }
                try? FileManager.default.removeItem(atPath: dir)  // only when empty
            }
        }
        do { try images.writeIDX(prefix: prefix) } catch {
            cell.runtimeNote = "could not write the set: \(error)"
            return
        }
        let imageFile = images.idxPaths(prefix: prefix)[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: infer)
        process.arguments = [bsm, "--images", imageFile, "--labels", prefix + "-labels-idx1-ubyte",
                             "--predictions", predictionsFile, "--json", "--no-timing"]  // predictions only: no timing passes
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            cell.runtimeNote = "could not run \(infer): \(error)"
            return
        }
        let allowed = Double(images.count) * settings.inferSecondsPerImage + settings.verifyGrace
        let watchdog = ChildOutput.Watchdog(process, seconds: allowed)
        let output = ChildOutput.tail(stdout.fileHandleForReading)
        process.waitUntilExit()
        if watchdog.cancel() {
            cell.runtimeNote = "not cross-checked: infer still ran after \(allowed) s (\(images.count) images x \(settings.inferSecondsPerImage) s + \(settings.verifyGrace) s) and was stopped"
            return
        }
        guard process.terminationStatus == 0 else {
            cell.runtimeNote = "infer exited with status \(process.terminationStatus)"
            return
        }
        let lastLine = ChildOutput.lastLine(output)
        guard let object = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any],
              let accuracy = JSONValue.double(object["accuracy"]) else {
            cell.runtimeNote = "infer printed no JSON accuracy"
            return
        }
        // Another process's number: a fraction before it is scaled to a count.
        guard accuracy >= 0, accuracy <= 1 else {
            cell.runtimeNote = "infer printed accuracy \(accuracy), not a fraction in [0, 1]"
            return
        }
        cell.runtimeAccuracy = accuracy
        // Another process's file: read up to what `images.count` predictions can take (a class of at most
        // 20 digits and a line break each), not however much it wrote.
        do {
            let bytes = try BoundedFile.contents(of: predictionsFile, limit: images.count * 24 + 4096, what: "predictions file")
            let text = String(decoding: bytes, as: UTF8.self)
            let predicted = text.split(whereSeparator: \.isNewline).compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if predicted.count == images.count {
                cell.runtimeDisagreements = (0..<images.count).filter { (predicted[$0] == Int(images.labels[$0])) != robust[$0] }.count
                return
            }
            cell.runtimeNote = "infer wrote \(predicted.count) predictions for \(images.count) images; compared accuracies only"
        } catch {
            cell.runtimeNote = "\(error); compared accuracies only"
        }
        let correct = Int((accuracy * Double(images.count)).rounded())
        cell.runtimeDisagreements = abs(correct - robust.filter { $0 }.count)
    }

    /// SHA-256 of a file, hex.
    static func sha256(path: String) throws(TrainerError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read the checkpoint to hash it")
        }
        return data.withUnsafeBytes { SHA256.hex(SHA256.hash($0)) }
    }
}
