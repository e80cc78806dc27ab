import Datasets
import Foundation

/// A grid run's output directory, the one place its layout is written down. Jobs are addressed by id,
/// so a directory may hold jobs of several runs, and a finished job (its marker written last,
/// atomically) is never redone:
///
///     grid.json, options.json      the grid and options of the last plan (what `collect` reads)
///     models/ID/job.json           `train fit` arguments
///     models/ID/model.safetensors  written after every epoch (a stopped job resumes from it)
///     models/ID/model.bsm          the converted model (the sweep's runtime cross-check)
///     models/ID/done.json          marker: training and conversion finished
///     attacks/ID/job.json          the model's id and `train sweep` arguments
///     attacks/ID/sweep.*           the sweep's reports and journal (a stopped sweep resumes from it)
///     attacks/ID/start/            a PGD job's run kept for the edge job that starts from it (EdgeStart+Stored.swift)
///     attacks/ID/result.json       marker and result: the cell's numbers (no times, no paths)
///     logs/KIND-ID.log             each local job's output (Slurm: logs/CLASS-%A_%a.log)
///     results.json, .md, .csv      the merged results (`collect`; `collect --to DIR` writes them there)
///     tables.md, .csv, README.md   the paper's tables, ours beside them; the claims in words
///     plots/STEM.svg               accuracy against eps, one plot per table
public struct GridStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public enum Kind: String, Sendable { case model, attack }

    public func directory(_ kind: Kind, _ id: String) -> String { root + (kind == .model ? "/models/" : "/attacks/") + id }
    public func jobFile(_ kind: Kind, _ id: String) -> String { directory(kind, id) + "/job.json" }
    public func checkpoint(_ id: String) -> String { directory(.model, id) + "/model.safetensors" }
    public func modelFile(_ id: String) -> String { directory(.model, id) + "/model.bsm" }
    public func sweepPrefix(_ id: String) -> String { directory(.attack, id) + "/sweep" }
    /// Where PGD job `id` keeps its run for an edge job (`AttackJob.keepsStart`).
    public func startDirectory(_ id: String) -> String { directory(.attack, id) + "/start" }
    /// The marker a finished job writes last.
    public func marker(_ kind: Kind, _ id: String) -> String { directory(kind, id) + (kind == .model ? "/done.json" : "/result.json") }
    public func log(_ kind: Kind, _ id: String) -> String { root + "/logs/\(kind.rawValue)-\(id).log" }
    public var gridCopy: String { root + "/grid.json" }
    /// The directories a run makes inside its root (a file in their place is refused before the run).
    public static let subdirectories = ["models", "attacks", "logs", "plots"]
    public var optionsFile: String { root + "/options.json" }

    public func isDone(_ kind: Kind, _ id: String) -> Bool { FileManager.default.fileExists(atPath: marker(kind, id)) }

    /// Writes the plan: the grid (byte for byte), the options, and each job's file (the same bytes every
    /// time for the same id and grid, so rewriting one is harmless; an attack job's links, `start` and
    /// `keeps_start`, follow the grid's other cells).
    public func write(plan: GridPlan, gridBytes: [UInt8]) throws(TrainerError) {
        try save(gridBytes, gridCopy)
        try save(Self.json(plan.options.object), optionsFile)
        for m in plan.models {
            try save(Self.json(["kind": "model", "id": m.id, "arguments": m.arguments]), jobFile(.model, m.id))
        }
        for a in plan.attacks {
            var o: [String: Any] = ["kind": "attack", "id": a.id, "model": a.model, "arguments": a.arguments]
            if let start = a.start { o["start"] = start }
            if a.keepsStart { o["keeps_start"] = true }
            try save(Self.json(o), jobFile(.attack, a.id))
        }
    }

    /// The plan of the last `write(plan:)`: the stored grid with the stored options.
    public func readPlan() throws(TrainerError) -> GridPlan {
        let grid = try ExperimentGrid.read(path: gridCopy)
        let object = try Self.readObject(optionsFile, limit: 1 << 16)
        return GridPlan(grid: grid, options: try GridOptions(object: object, path: optionsFile))
    }

    /// A job file: its id (checked against the directory), arguments and, for an attack, the model's id.
    public func readJob(_ kind: Kind, _ id: String) throws(TrainerError) -> (arguments: [String], model: String?) {
        let path = jobFile(kind, id)
        let o = try Self.readObject(path, limit: 1 << 16)
        guard o["kind"] as? String == kind.rawValue, o["id"] as? String == id, let args = o["arguments"] as? [String] else {
            throw .badGrid(path: path, cell: nil, field: "(job)", problem: "not the \(kind.rawValue) job \(id) (kind, id or arguments missing)")
        }
        if kind == .attack {
            guard let model = o["model"] as? String, GridCell.idProblem(model) == nil else {
                throw .badGrid(path: path, cell: nil, field: "model", problem: "missing or not an id")
            }
            return (args, model)
        }
        return (args, nil)
    }

    /// An attack job's links (`AttackJob.start`, `.keepsStart`) as its job file holds them.
    public func readLinks(_ id: String) throws(TrainerError) -> (start: String?, keepsStart: Bool) {
        let path = jobFile(.attack, id)
        let o = try Self.readObject(path, limit: 1 << 16)
        let start = o["start"] as? String
        if o["start"] != nil, !(start.map { $0.utf8.count == 16 && $0.allSatisfy(\.isHexDigit) } ?? false) {
            throw .badGrid(path: path, cell: nil, field: "start", problem: "not a job id (16 hex digits)")
        }
        return (start, JSONValue.bool(o["keeps_start"]) ?? false)
    }

    /// Writes `object` as the job's marker (sorted keys: the same numbers give the same bytes).
    public func finish(_ kind: Kind, _ id: String, _ object: [String: Any]) throws(TrainerError) {
        try save(Self.json(object), marker(kind, id))
    }

    /// A finished attack job's result, or nil when it has not finished. A result file is read like any
    /// other input (it may come from a cluster, a copy or an edit): it must be this job's (`id`) and its
    /// numbers must be a sweep cell's (`resultProblem`), else `.badGrid` names the file, the key and the value.
    public func result(_ id: String) throws(TrainerError) -> [String: Any]? {
        guard isDone(.attack, id) else { return nil }
        let path = marker(.attack, id)
        let o = try Self.readObject(path, limit: 1 << 16)
        if let (field, problem) = Self.resultProblem(o, id: id) { throw .badGrid(path: path, cell: nil, field: field, problem: problem) }
        return o
    }

    /// Why `o` cannot be attack job `id`'s result (the key and what is wrong), or nil: its `id` is the job's,
    /// `images` a positive integer, each count an integer and each fraction a number, as `SweepCell.numbersProblem`
    /// bounds them, and the perturbations within 0...255 pixel units (the largest at most the budget, the mean at
    /// most the largest). Keys it does not know are kept (the merged results copy them); nulls are allowed.
    static func resultProblem(_ o: [String: Any], id: String) -> (field: String, problem: String)? {
        guard o["id"] as? String == id else { return ("id", "\(o["id"].map { "\($0)" } ?? "missing"), not this job's id \(id)") }
        guard let images = JSONValue.integer(o["images"]), images >= 1 else { return ("images", "\(o["images"].map { "\($0)" } ?? "missing"), not a positive integer") }
        func given(_ key: String) -> Any? { o[key].flatMap { $0 is NSNull ? nil : $0 } }
        var counts: [String: Int] = [:], fractions: [(String, Double?)] = []
        for key in ["clean_correct", "successes", "runtime_disagreements", "certified_robust", "certified_unknown", "max_perturbation", "pixel_budget"] {
            guard let v = given(key) else { continue }
            guard let n = JSONValue.integer(v) else { return (key, "\(v), not an integer") }
            counts[key] = n
        }
        for key in ["clean_accuracy", "robust_accuracy", "success_rate", "zero_gradient_fraction", "runtime_accuracy", "mean_perturbation"] {
            guard let v = given(key) else { continue }
            guard let x = JSONValue.double(v) else { return (key, "\(v), not a number") }
            if key != "mean_perturbation" { fractions.append((key, x)) }
        }
        if let problem = SweepCell.numbersProblem(images: images, fractions: fractions, cleanCorrect: counts["clean_correct"],
                                                  successes: counts["successes"], runtimeDisagreements: counts["runtime_disagreements"],
                                                  certifiedRobust: counts["certified_robust"], certifiedUnknown: counts["certified_unknown"]) {
            return ("(numbers)", problem)
        }
        let budget = counts["pixel_budget"] ?? 255, largest = counts["max_perturbation"] ?? budget
        let mean = given("mean_perturbation") as? Double ?? 0
        guard (0...255).contains(budget), (0...budget).contains(largest), mean >= 0, mean <= Double(largest) else {
            return ("(perturbation)", "pixel_budget \(budget), max_perturbation \(largest), mean_perturbation \(mean): need 0 <= mean <= max <= budget <= 255")
        }
        return nil
    }

    func save(_ bytes: [UInt8], _ path: String) throws(TrainerError) { try Self.save(bytes, path) }

    /// Writes `bytes` to `path` atomically (AtomicFile).
    static func save(_ bytes: [UInt8], _ path: String) throws(TrainerError) {
        do { try AtomicFile.write(bytes, to: path) } catch { throw .dataset(error) }
    }

    /// `object` as JSON with sorted keys and a final newline.
    public static func json(_ object: Any) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted])) ?? Data("{}".utf8)
        return Array(data) + [0x0A]
    }

    static func readObject(_ path: String, limit: Int) throws(TrainerError) -> [String: Any] {
        let bytes: [UInt8]
        do { bytes = try BoundedFile.contents(of: path, limit: limit, what: "grid run file") } catch { throw .dataset(error) }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .badGrid(path: path, cell: nil, field: "(document)", problem: "not a JSON object")
        }
        return o
    }
}

extension GridOptions {
    /// The options as `options.json` holds them.
    var object: [String: Any] {
        var o: [String: Any] = ["preset": preset.rawValue, "paper_datasets": paperDatasets]
        if let limit { o["limit"] = limit }
        if let trainLimit { o["train_limit"] = trainLimit }
        if let maxEpochs { o["max_epochs"] = maxEpochs }
        return o
    }

    init(object o: [String: Any], path: String) throws(TrainerError) {
        self.init()
        func bad(_ field: String) -> TrainerError { .badGrid(path: path, cell: nil, field: field, problem: "missing or of the wrong type") }
        guard let p = (o["preset"] as? String).flatMap(Preset.init(rawValue:)) else { throw bad("preset") }
        preset = p
        guard let d = JSONValue.bool(o["paper_datasets"]) else { throw bad("paper_datasets") }
        paperDatasets = d
        for option in Self.numberOptions {
            guard let value = o[option.key] else { continue }
            guard let n = JSONValue.integer(value) else {
                throw .badGrid(path: path, cell: nil, field: option.key, problem: "\(value) is not an integer")
            }
            self[keyPath: option.path] = n
        }
        if let (key, problem) = rangeProblem(naming: { key, _ in key }) {
            throw .badGrid(path: path, cell: nil, field: key, problem: problem)
        }
    }
}
