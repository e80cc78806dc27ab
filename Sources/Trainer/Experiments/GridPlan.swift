import Datasets
import ModelFile

/// How a grid is run here: the network size of the fully connected cells and the knobs that make a
/// small run of the same grid. Every option that changes a number is part of the job hashes, so runs
/// with different options never mix their results.
public struct GridOptions: Sendable, Equatable {
    /// The size the fully connected cells train at (the paper: FCN2 for Fig. 4(b), FCN1 for Tables 3, 5, 6).
    public enum Preset: String, Sendable, CaseIterable {
        /// 784-600x4-10: what runs on one machine here.
        case fcn2
        /// 784-6144x4-10: what the paper ran (a cluster job: about 12 minutes per epoch here).
        case fcn1
    }

    public var preset = Preset.fcn2
    /// Attack only the first N test images.
    public var limit: Int?
    /// Train on the first N training images only.
    public var trainLimit: Int?
    /// At most this many epochs per model (a smoke run of the whole grid).
    public var maxEpochs: Int?
    /// Run the cells the paper ran on another data set (CIFAR-10) on that set instead of the stand-in.
    public var paperDatasets = false

    public init() {}

    /// The range of `limit` and `trainLimit` (no IDX file holds more images than its payload bound);
    /// one rule for `train reproduce` and for a stored `options.json`.
    public static let imageLimitRange = 1...IDXFile.maxPayloadBytes
    /// The range of `maxEpochs` (what `train fit --epochs` takes).
    public static let maxEpochsRange = 1...TrainingConfig.maxEpochs

    /// Each number option with its key in `options.json`, its command-line option and its range.
    static var numberOptions: [(key: String, option: String, range: ClosedRange<Int>, path: WritableKeyPath<GridOptions, Int?>)] {
        [("limit", "--limit", imageLimitRange, \.limit),
         ("train_limit", "--train-limit", imageLimitRange, \.trainLimit),
         ("max_epochs", "--max-epochs", maxEpochsRange, \.maxEpochs)]
    }

    /// The first number option outside its range: its `options.json` key, and a message naming the option
    /// (`name` maps its key and command-line option to the name the user wrote) and the numbers; nil when
    /// all are inside.
    public func rangeProblem(naming name: (_ key: String, _ option: String) -> String) -> (key: String, problem: String)? {
        for o in Self.numberOptions {
            if let v = self[keyPath: o.path], let problem = o.range.problem(name(o.key, o.option), v) { return (o.key, problem) }
        }
        return nil
    }
}

/// A trained model: `train fit` with `arguments` (the canonical option list, which the id hashes).
public struct ModelJob: Sendable, Equatable {
    /// 16 hex digits of SHA-256 over the arguments.
    public var id: String
    /// `train fit` options, without --out, --resume, --data-dir.
    public var arguments: [String]
    /// The resource class (`train-fcn2`, `train-fcn1`, `train-conv`, `train-fcn`): one Slurm array each.
    public var resourceClass: String
    /// Epochs, for time estimates.
    public var epochs: Int
}

/// An attack cell: `train sweep` of one model under one attack at one budget.
public struct AttackJob: Sendable, Equatable {
    /// 16 hex digits of SHA-256 over the model's id and the arguments.
    public var id: String
    /// The model job it attacks.
    public var model: String
    public var attack: AttackConfig.Kind
    public var eps: GridEpsilon
    /// `train sweep` options, without the checkpoint, --out and --data-dir.
    public var arguments: [String]
    /// `attack-` and the model's class.
    public var resourceClass: String
    /// An edge job on fewer-bit input: the PGD job of the same model, budget and settings it starts from
    /// (`train sweep --edge-start`, the same numbers as crafting that start again), which must finish first.
    /// Not hashed into the id: the result does not depend on where the start came from.
    public var start: String? = nil
    /// A PGD job an edge job starts from: it keeps its run (`train sweep --save-start`).
    public var keepsStart = false
}

/// A cell with the jobs that answer it.
public struct PlannedCell: Sendable {
    public var cell: GridCell
    /// The model job's id.
    public var model: String
    /// The data set trained and attacked here.
    public var dataset: Dataset
    /// The network trained here (`fcn2`, `fcn1`, `conv`, `fcn 16x1`).
    public var net: String
    /// Whether the network or data set differs from the paper's (FCN2 for FCN1, Fashion-MNIST for CIFAR-10).
    public var standsIn: Bool
    /// Attack job ids, by attack then budget (the cell's orders). An edge row on 8-bit input holds the PGD
    /// jobs' ids: there the edge attack is PGD with the same settings and seed (`GridPlan.answeringKind`).
    public var attackJobs: [[String]]
}

/// A grid turned into jobs: each distinct model once (cells that share training settings share the
/// model), each distinct attack cell once, in the grid's order.
public struct GridPlan: Sendable {
    public var grid: ExperimentGrid
    public var options: GridOptions
    public var models: [ModelJob] = []
    public var attacks: [AttackJob] = []
    public var cells: [PlannedCell] = []
    private var known: Set<String> = []

    /// The settings `train sweep` resolves for what a job's arguments leave out (every `AttackConfig`
    /// default); the attack job ids hash them.
    let attackDefaults: AttackConfig

    /// The plan of `grid`; `attackDefaults` (tests) stands for `train sweep`'s defaults.
    public init(grid: ExperimentGrid, options: GridOptions) {
        self.init(grid: grid, options: options, attackDefaults: AttackConfig(kind: .fgsm, epsilon: 0))
    }

    init(grid: ExperimentGrid, options: GridOptions, attackDefaults: AttackConfig) {
        self.grid = grid
        self.options = options
        self.attackDefaults = attackDefaults
        for cell in grid.cells { add(cell) }
        linkEdgeStarts()
    }

    /// Points each edge job at the PGD job it starts from, when the plan has one (`AttackJob.start`): the
    /// same model, budget, image count and verify flag, and PGD settings equal to the edge attack's start
    /// (`AttackConfig.edgeStart`).
    private mutating func linkEdgeStarts() {
        let ids = Dictionary(attacks.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for i in attacks.indices where attacks[i].attack == .edge {
            let e = attacks[i].eps.value
            guard resolvedConfig(.edge, e).edgeStart == resolvedConfig(.pgd, e) else { continue }
            var arguments = attacks[i].arguments
            guard let k = arguments.firstIndex(of: "--attacks"), k + 1 < arguments.count else { continue }
            arguments[k + 1] = AttackConfig.Kind.pgd.rawValue
            guard let p = ids[attackID(model: attacks[i].model, arguments, .pgd, e)] else { continue }
            attacks[i].start = attacks[p].id
            attacks[p].keepsStart = true
        }
    }

    /// An attack job's id: its model's id, its `train sweep` arguments and what `train sweep` resolves for them.
    func attackID(model: String, _ arguments: [String], _ kind: AttackConfig.Kind, _ eps: Float) -> String {
        Self.jobID("bitshield-grid-attack/2", [model] + arguments + [resolvedSettings(kind, eps)])
    }

    /// The first 16 hex digits of SHA-256 over `kind` and `arguments`, one per line.
    static func jobID(_ kind: String, _ arguments: [String]) -> String {
        let text = ([kind] + arguments).joined(separator: "\n")
        return String(SHA256.hex(SHA256.hash(Array(text.utf8))).prefix(16))
    }

    private mutating func add(_ cell: GridCell) {
        let t = cell.training
        let dataset = options.paperDatasets ? (cell.paperDataset ?? t.dataset) : t.dataset
        var net: String
        var args = ["--dataset", dataset.rawValue]
        switch t.arch {
        case .conv:
            net = "conv"
            args += ["--arch", "conv"]
        case .fcn where t.width != nil:
            net = "fcn \(t.width!)x\(t.depth ?? 4)"
            args += ["--arch", "fcn"]
        case .fcn:
            net = options.preset.rawValue
            args += ["--arch", net]
        }
        if let w = t.width { args += ["--width", String(w)] }
        if let d = t.depth { args += ["--depth", String(d)] }
        let epochs = min(t.epochs, options.maxEpochs ?? t.epochs)
        args += ["--precision", t.precision.rawValue, "--input-bits", String(t.inputBits), "--epochs", String(epochs),
                 "--seed", String(t.seed)]
        if let a = t.adversarial {
            args += ["--adversarial", a.rawValue]
            if let e = t.adversarialEps { args += ["--adversarial-eps", e.value.description] }
        }
        if let b = t.batchSize { args += ["--batch-size", String(b)] }
        if let s = t.weightSparsity, s > 0 { args += ["--weight-sparsity", s.description] }
        if let e = t.certifyEps, let w = t.certifyWeight {
            args += ["--certify-eps", e.value.description, "--certify-weight", w.description]
            if let l = t.certifyLayers { args += ["--certify-layers", String(l)] }
        }
        if let n = options.trainLimit { args += ["--train-limit", String(n)] }
        let modelClass = "train-" + (t.arch == .fcn && t.width != nil ? "fcn" : net)
        let model = ModelJob(id: Self.jobID("bitshield-grid-model/1", args), arguments: args, resourceClass: modelClass, epochs: epochs)
        if known.insert(model.id).inserted { models.append(model) }

        var jobs: [[String]] = []
        for kind in cell.attacks {
            var row: [String] = []
            for e in cell.epsilons {
                let runs = answeringKind(kind, e.value, inputBits: t.inputBits)
                var a = ["--attacks", runs.rawValue, "--eps", e.value.description, "--steps", String(grid.attackSettings.steps),
                         "--restarts", String(grid.attackSettings.restarts), "--seed", String(grid.attackSettings.seed)]
                // The grid's own count for the cell, or --limit, whichever is smaller.
                if let n = [options.limit, cell.images].compactMap({ $0 }).min() { a += ["--limit", String(n)] }
                if cell.certify { a.append("--certify") }
                let job = AttackJob(id: attackID(model: model.id, a, runs, e.value),
                                    model: model.id, attack: runs, eps: e,
                                    arguments: a, resourceClass: "attack-" + modelClass.dropFirst("train-".count))
                if known.insert(job.id).inserted { attacks.append(job) }
                row.append(job.id)
            }
            jobs.append(row)
        }
        let standsIn = dataset != (cell.paperDataset ?? t.dataset) || net != cell.paperNet.lowercased()
        cells.append(PlannedCell(cell: cell, model: model.id, dataset: dataset, net: net, standsIn: standsIn, attackJobs: jobs))
    }

    /// What `train sweep` runs for `kind` at `eps` with the grid's settings, every default resolved, and the
    /// attack's revision: `kind r<revision> <journalSettings>`. An attack job's id hashes it, so a changed
    /// default (the edge attack's rounds, candidates or stop rule, PGD's steps) or a changed algorithm (a new
    /// `AttackConfig.Kind.revision`) gives new ids, and a grid run before the change re-runs those cells
    /// instead of keeping their stale results.
    func resolvedSettings(_ kind: AttackConfig.Kind, _ eps: Float) -> String {
        "\(kind.rawValue) r\(kind.revision) \(resolvedConfig(kind, eps).journalSettings)"
    }

    /// The settings `train sweep` runs `kind` at `eps` with under this grid: `attackDefaults` with the grid's
    /// steps, restarts and seed.
    func resolvedConfig(_ kind: AttackConfig.Kind, _ eps: Float) -> AttackConfig {
        var c = attackDefaults
        c.kind = kind
        c.epsilon = eps
        c.steps = grid.attackSettings.steps
        c.restarts = grid.attackSettings.restarts
        c.seed = grid.attackSettings.seed
        return c
    }

    /// The attack whose job answers `kind` at `eps` on `inputBits`-bit input: `kind` itself, except an edge
    /// attack that is exactly the grid's PGD of the same settings and seed (8-bit input, or a budget under one
    /// pixel unit: `AttackConfig.edgeIsItsStart`), which the PGD job answers: the same numbers, run once.
    /// Every other job keeps its id.
    func answeringKind(_ kind: AttackConfig.Kind, _ eps: Float, inputBits: Int) -> AttackConfig.Kind {
        let edge = resolvedConfig(.edge, eps)
        guard kind == .edge, edge.edgeIsItsStart(inputBits: inputBits), edge.edgeStart == resolvedConfig(.pgd, eps) else { return kind }
        return .pgd
    }

    /// The model job `id`, or nil.
    public func model(_ id: String) -> ModelJob? { models.first { $0.id == id } }
    /// The attack job `id`, or nil.
    public func attack(_ id: String) -> AttackJob? { attacks.first { $0.id == id } }
}
