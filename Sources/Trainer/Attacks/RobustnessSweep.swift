import Datasets
import Foundation
import ModelFile

// A robustness sweep: every (model, eps, attack) cell on a checkpoint's test set, written as Markdown,
// CSV, JSON and SVG reports with per-example worst cases and the sanity flags of Carlini et al. 2019,
// "On Evaluating Adversarial Robustness" (SweepReport.swift). Each finished cell is appended to
// PREFIX.jsonl at once; a rerun reads it and skips the cells it holds (same checkpoint bytes, attack,
// settings, eps and image count), so an interrupted sweep resumes where it stopped. PREFIX.jsonl.lock
// keeps a second sweep from writing the same journal at the same time.
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
    /// Most bytes one model's network may take (ModelConfig+Bounds.swift).
    public var memoryBudget = ModelConfig.defaultMemoryBudget

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
        self.settings = settings
    }

    /// The journal of finished cells.
    public var journalPath: String { settings.out + ".jsonl" }

    /// The cells already in the journal (a torn last line, from an interrupted write, is ignored).
    public func finishedCells() -> [SweepCell] {
        guard let data = FileManager.default.contents(atPath: journalPath) else { return [] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? decoder.decode(SweepCell.self, from: Data($0.utf8))
        }
    }

    /// Runs the cells not in the journal, then writes the reports from every cell of this sweep.
    /// Returns the report and how many cells ran now and were skipped as already finished.
    public func run(progress: (SweepProgress) -> Void = { _ in }) throws(TrainerError) -> (report: SweepReport, ran: Int, skipped: Int) {
        let directory = (settings.out as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try refuseOverwritingInputs()
        let lock = try lockJournal()
        defer {
            // Unlink while still holding the lock: a sweep that opened the old file finds it gone and retries.
            unlink(lockPath)
            close(lock)
        }
        var finished = [String: SweepCell]()
        for cell in finishedCells() { finished[cell.key] = cell }
        let source = try settings.source.map { path throws(TrainerError) in
            try Checkpoint.read(path: path).makeNetwork(path: path, memoryBudget: settings.memoryBudget)
        }
        let total = settings.models.count * settings.epsilons.count * settings.attacks.count
        var cells: [SweepCell] = []
        var ran = 0, skipped = 0, index = 0
        var testSets = [String: ImageSet]()
        for path in settings.models {
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
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            for eps in settings.epsilons {
                // eps as written (0.1, not 0.10000000149011612).
                let epsValue = Double("\(eps)") ?? Double(eps)
                for kind in settings.attacks {
                    index += 1
                    var config = settings.template
                    config.kind = kind
                    config.epsilon = eps
                    var described = config.settingsSummary
                    if kind == .transfer, let s = settings.source { described += " source=\((s as NSString).lastPathComponent)" }
                    let key = SweepCell.key(sha256: sha, attack: kind.rawValue, settings: described, eps: epsValue, images: test.count)
                    let label = "\(name) \(kind.rawValue) eps \(eps)"
                    if let done = finished[key] {
                        cells.append(done)
                        skipped += 1
                        progress(SweepProgress(cell: index, cells: total, label: label, done: test.count, total: test.count, skipped: true))
                        continue
                    }
                    let attacker = try Attacker(network: network, config: config, source: kind == .transfer ? source : nil)
                    let result = try attacker.run(on: test) { done, all in
                        progress(SweepProgress(cell: index, cells: total, label: label, done: done, total: all, skipped: false))
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
                    try append(cell)
                    cells.append(cell)
                    ran += 1
                }
            }
        }
        let report = SweepReport(name: (settings.out as NSString).lastPathComponent, cells: cells)
        try report.write(prefix: settings.out)
        return (report, ran, skipped)
    }

    /// The lock file held while a sweep writes the journal.
    public var lockPath: String { journalPath + ".lock" }

    /// Every file the sweep writes: the reports, the journal and its lock.
    public var outputPaths: [String] { ["md", "csv", "json", "svg", "jsonl", "jsonl.lock"].map { settings.out + "." + $0 } }

    /// Every file the sweep reads: checkpoints, their .bsm files, the transfer source, the `infer`
    /// executable and the data set files.
    var inputPaths: [String] {
        var inputs = settings.models + settings.models.compactMap(runtimeModel(for:))
        if let source = settings.source { inputs.append(source) }
        if let infer = settings.inferExecutable { inputs.append(infer) }
        return inputs + Dataset.allCases.flatMap { $0.files(dataDirectory: settings.dataDirectory) }
    }

    /// Refuses a sweep whose output prefix would overwrite one of its inputs, naming both.
    func refuseOverwritingInputs() throws(TrainerError) {
        do { try FileIdentity.requireDistinct(outputs: outputPaths, inputs: inputPaths) } catch { throw .dataset(error) }
    }

    /// Takes the journal's lock: an exclusive flock(2) on PREFIX.jsonl.lock, held (through the returned
    /// descriptor) for the sweep's life, so two sweeps never append to one journal. The kernel releases
    /// the lock when its holder dies, so a lock file left by a killed sweep does not block, and no
    /// process id is trusted (one can be reused by an unrelated process). The file holds the holder's
    /// process id for people only.
    func lockJournal() throws(TrainerError) -> Int32 {
        for _ in 0..<16 {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw .io(path: lockPath, reason: "cannot open the journal lock: \(String(cString: strerror(errno)))")
            }
            var result = flock(fd, LOCK_EX | LOCK_NB)
            while result != 0 && errno == EINTR { result = flock(fd, LOCK_EX | LOCK_NB) }
            if result != 0 {
                let reason = errno == EWOULDBLOCK ? "" : " (\(String(cString: strerror(errno))))"
                var holder = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &holder, holder.count, 0)
                close(fd)
                let pid = String(decoding: holder.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw .io(path: journalPath, reason: "another sweep\(Int32(pid).map { " (process \($0))" } ?? "") is writing this journal: "
                                                     + "it holds the lock \(lockPath)\(reason); wait for it to finish")
            }
            // A sweep that finished meanwhile unlinks the file it locked: then lock the new one.
            guard FileIdentity.descriptor(fd, stillNames: lockPath) else {
                close(fd)
                continue
            }
            let me = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            return fd
        }
        throw .io(path: lockPath, reason: "cannot take the journal lock: the lock file kept changing (16 tries)")
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
        let beside = (path as NSString).deletingPathExtension + ".bsm"
        return FileManager.default.fileExists(atPath: beside) ? beside : nil
    }

    /// Scores the cell's stored images with `infer` and records agreement, or why it did not run.
    func crossCheck(_ cell: inout SweepCell, model path: String, images: ImageSet, robust: [Bool]) {
        guard let bsm = runtimeModel(for: path) else {
            cell.runtimeNote = "no .bsm beside the checkpoint"
            return
        }
        guard let infer = settings.inferExecutable, FileManager.default.isExecutableFile(atPath: infer) else {
            cell.runtimeNote = "infer executable not found (pass --infer)"
            return
        }
        let dir = settings.out + "-sets"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let prefix = dir + "/\(cell.modelName)-\(cell.attack)-\(cell.eps)"
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
                             "--predictions", predictionsFile, "--json"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            cell.runtimeNote = "could not run \(infer): \(error)"
            return
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            cell.runtimeNote = "infer exited with status \(process.terminationStatus)"
            return
        }
        let lastLine = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any],
              let accuracy = object["accuracy"] as? Double else {
            cell.runtimeNote = "infer printed no JSON accuracy"
            return
        }
        // Another process's number: a fraction before it is scaled to a count.
        guard accuracy >= 0, accuracy <= 1 else {
            cell.runtimeNote = "infer printed accuracy \(accuracy), not a fraction in [0, 1]"
            return
        }
        cell.runtimeAccuracy = accuracy
        if let text = try? String(contentsOfFile: predictionsFile, encoding: .utf8) {
            let predicted = text.split(whereSeparator: \.isNewline).compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if predicted.count == images.count {
                cell.runtimeDisagreements = (0..<images.count).filter { (predicted[$0] == Int(images.labels[$0])) != robust[$0] }.count
                return
            }
            cell.runtimeNote = "infer wrote \(predicted.count) predictions for \(images.count) images; compared accuracies only"
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
