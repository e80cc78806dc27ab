import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

extension GridOptions.Preset: ExpressibleByArgument {}

/// `train reproduce`: a declared experiment grid (experiments/paper.json) trained, converted, attacked and
/// scored, here (`--jobs N`) or on a Slurm cluster (`--emit slurm DIR`), with the paper's numbers beside ours.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Run a declared experiment grid (experiments/paper.json) here or on Slurm; merge its results.",
        discussion: """
        Examples:
          train reproduce experiments/paper.json --out results/paper --jobs 2
          train reproduce experiments/paper.json --out /shared/paper --preset fcn1 --emit slurm /shared/paper-slurm
          train reproduce collect results/paper
        A job is a trained model (addressed by a hash of its training settings, so cells that share a model train it once) or an attack cell (the model's hash and the attack settings). Finished jobs are never redone; rerunning the same command resumes an interrupted grid, and a model stopped part-way resumes from its last epoch's checkpoint (train fit --resume).
        """,
        subcommands: [ReproduceRun.self, ReproduceCollect.self, ReproduceJob.self],
        defaultSubcommand: ReproduceRun.self)
}

/// `train reproduce GRID --out DIR`: plans the grid and runs its unfinished jobs, N at once, or writes them as Slurm arrays.
struct ReproduceRun: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Plan a grid and run its unfinished jobs here, or emit them as Slurm job arrays (the default subcommand).")

    @Argument(help: "The grid file (JSON, experiments/paper.json).")
    var grid: String

    @Option(help: "Output directory: models, attack cells, logs and the merged results.json, .md, .csv.")
    var out: String

    @Option(help: "Jobs run at once, each with one BLAS thread (OPENBLAS_NUM_THREADS=1), 1...64.")
    var jobs: Int = 1

    @Option(help: "Size of the fully connected cells: fcn2 (784-600x4-10, runs here) or fcn1 (784-6144x4-10, the paper's; a cluster job).")
    var preset: GridOptions.Preset = .fcn2

    @Option(help: "Attack only the first N test images of every cell.")
    var limit: Int?

    @Option(help: "Train every model on the first N training images only.")
    var trainLimit: Int?

    @Option(help: "Train every model for at most N epochs (a smoke run of the whole grid).")
    var maxEpochs: Int?

    @Flag(help: "Run the cells the paper ran on CIFAR-10 on CIFAR-10 (your own copy, in the data cache) instead of the conv net on Fashion-MNIST.")
    var paperDatasets = false

    @Option(help: ArgumentHelp("Run only the cells whose id or table matches a shell glob (t5-*, 'Table 5', fig4b-*); comma-separated, repeatable. The reports show the rest as pending.", valueName: "glob"))
    var cells: [CommaSeparated<String>] = []

    @Option(help: "Run only the models (train and convert) or only the attack cells (of models already trained).")
    var only: JobSelection?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Write the unfinished jobs as Slurm job arrays into DIR (submit.sh, collect.sh) instead of running them.", valueName: "slurm DIR"))
    var emit: [String] = []

    @Option(help: "With --emit slurm: an extra #SBATCH line for every array (e.g. --sbatch=--partition=cpu); repeatable.")
    var sbatch: [String] = []

    @Option(help: "With --emit slurm: the train executable's path on the cluster (default: this one).")
    var trainPath: String?

    @Option(help: "Data cache directory (default: $BITSHIELD_DATA, else ~/.cache/bitshield/data).")
    var dataDir: String?

    @Flag(help: "Print a one-line JSON summary as the last line of stdout.")
    var json = false

    func validate() throws {
        try checkOption("--jobs", jobs, 1...64)
        // An --out (or a directory the run makes in it) that is a file is refused before anything runs.
        try requireWritableDirectory(out, subdirectories: GridStore.subdirectories, option: "--out")
        if let (_, problem) = options.rangeProblem(naming: { _, option in option }) { throw ValidationError(problem) }
        if !emit.isEmpty {
            guard emit.count == 2, emit[0] == "slurm" else {
                throw ValidationError("--emit takes a scheduler and a directory: --emit slurm DIR (got \(emit.joined(separator: " ")))")
            }
            try requireWritableDirectory(emit[1], option: "--emit slurm DIR")
            // What the scripts will name: a control character (a line break) cannot be written into them safely.
            let texts = [("--out", out), ("--emit slurm DIR", emit[1])] + (trainPath.map { [("--train-path", $0)] } ?? [])
                + (dataDir.map { [("--data-dir", $0)] } ?? []) + sbatch.map { ("--sbatch", $0) }
            for (what, text) in texts { if let problem = SlurmEmission.lineProblem(text, what: what) { throw ValidationError(problem) } }
        } else if !sbatch.isEmpty || trainPath != nil {
            throw ValidationError("--sbatch and --train-path go with --emit slurm DIR")
        }
    }

    /// The `--cells` globs, each list flattened.
    var cellPatterns: [String] { cells.flatMap(\.values) }

    var options: GridOptions {
        var o = GridOptions()
        o.preset = preset
        o.limit = limit
        o.trainLimit = trainLimit
        o.maxEpochs = maxEpochs
        o.paperDatasets = paperDatasets
        return o
    }

    func execute() throws {
        let bytes = try BoundedFile.contents(of: grid, limit: ExperimentGrid.maxFileBytes, what: "experiment grid")
        let plan = GridPlan(grid: try ExperimentGrid.parse(bytes, path: grid), options: options)
        for p in cellPatterns where !plan.cells.contains(where: { $0.matches(p) }) {
            throw ToolError.usage("--cells \(p) matches no cell id or table of \(grid) (\(plan.cells.count) cells, e.g. \(plan.cells.first?.cell.id ?? "none"))")
        }
        let selected = plan.selecting(cells: cellPatterns, only: only)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        // One planner or runner per output directory at a time (jobs take their own locks too).
        let lock = try FileLock(guarding: store.root + "/grid.json", holder: "train reproduce")
        defer { lock.release() }
        try store.write(plan: plan, gridBytes: bytes)
        let tail = dataDir.map { ["--data-dir", FileIdentity.canonicalPath($0)] } ?? []
        if emit.count == 2 {
            try emitSlurm(selected, store, directory: emit[1], tail: tail)
            return
        }
        let runner = GridRunner(plan: selected, store: store, jobs: jobs, tail: tail, quiet: false)
        let failed = try runner.run()
        let results = try GridResults(plan: plan, store: store)
        try results.write(to: store)
        print("reproduce: \(results.finished.done)/\(results.finished.total) attack cells, \(plan.models.count) models; wrote \(store.root)/results.md, .json, .csv")
        if json {
            print(try jsonLine(["models": plan.models.count, "attack_jobs": plan.attacks.count, "attack_jobs_finished": results.finished.done,
                                "failed": failed, "results": store.root + "/results.json", "seconds": runner.elapsed]))
        }
        if !failed.isEmpty { throw ToolError.failure("\(failed.count) jobs failed (their logs: \(store.root)/logs/): \(failed.joined(separator: ", "))") }
    }

    func emitSlurm(_ plan: GridPlan, _ store: GridStore, directory: String, tail: [String]) throws {
        guard let train = trainPath ?? RunningExecutable.path else { throw ToolError.failure("cannot find this executable's path; give --train-path") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dir = FileIdentity.canonicalPath(directory)
        let emission = try SlurmEmission(plan: plan, store: store, directory: dir, train: train, tail: tail, sbatchOptions: sbatch)
        for (name, text) in emission.files {
            let path = dir + "/" + name
            try AtomicFile.write(Array(text.utf8), to: path)
            if name.hasSuffix(".sh") || name.hasSuffix(".sbatch") { chmod(path, 0o755) }
        }
        print("reproduce: wrote \(emission.arrays.count) Slurm arrays to \(directory) ("
              + emission.arrays.map { "\($0.resourceClass) \($0.tasks)" }.joined(separator: ", ") + "); run \(directory)/submit.sh, then \(directory)/collect.sh")
        if json {
            print(try jsonLine(["arrays": emission.arrays.map { ["class": $0.resourceClass, "tasks": $0.tasks] as [String: Any] },
                                "submit": directory + "/submit.sh", "collect": directory + "/collect.sh"]))
        }
    }
}

/// `train reproduce collect DIR`: merges the finished jobs of the last plan written to DIR.
struct ReproduceCollect: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Merge a grid run's finished jobs (wherever they ran) into the paper's tables, plots, a README and results.json, .md, .csv.")

    @Argument(help: "The grid run's output directory (its --out).")
    var out: String

    @Option(help: ArgumentHelp("Write the reports into DIR instead of the run's directory (e.g. --to results, from a full run).", valueName: "DIR"))
    var to: String?

    @Flag(help: "Also write costs.md: each kind of job's CPU seconds from the job logs (per epoch, per image) and the plan's total at those rates; machine figures, never in results.*.")
    var costs = false

    @Flag(help: "Print a one-line JSON summary as the last line of stdout.")
    var json = false

    func validate() throws {
        // A DIR that is a file, or under one, is refused before anything is read.
        if let to { try requireWritableDirectory(to, subdirectories: ["plots"], option: "--to") }
    }

    func execute() throws {
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        let plan = try store.readPlan()
        let results = try GridResults(plan: plan, store: store)
        let target = to.map { FileIdentity.canonicalPath($0) } ?? store.root
        try results.write(into: target)
        if costs {
            let table = GridCosts.markdown(plan: plan, store: store, results: results)
            try AtomicFile.write(Array(("# CPU cost of \(store.root)\n\n" + table).utf8), to: target + "/costs.md")
            print(table)
        }
        let (done, total) = results.finished
        print("collect: \(done)/\(total) attack cells finished; wrote \(target)/README.md, tables.md, tables.csv, "
              + "results.md, .json, .csv and \(plan.paperTables.count) plots in \(target)/plots")
        if json { print(try jsonLine(["attack_jobs": total, "attack_jobs_finished": done, "results": target + "/results.json"])) }
    }
}

/// `train reproduce job DIR KIND ID`: runs one job of a planned grid (what the local runner and each Slurm task start).
struct ReproduceJob: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Run one planned job of a grid run: a model (train fit, then convert) or an attack cell (train sweep).",
        shouldDisplay: false)

    @Argument(help: "The grid run's output directory.")
    var out: String

    @Argument(help: "model or attack.")
    var kind: String

    @Argument(help: "The job's id.")
    var id: String

    @Option(help: "Data cache directory.")
    var dataDir: String?

    func validate() throws {
        guard GridStore.Kind(rawValue: kind) != nil else { throw ValidationError("job kind '\(kind)' is not model or attack") }
        guard id.count == 16, id.allSatisfy(\.isHexDigit) else { throw ValidationError("job id '\(id)' is not 16 hex digits") }
    }

    func execute() throws {
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        let tail = dataDir.map { ["--data-dir", $0] } ?? []
        let ran: Bool
        switch GridStore.Kind(rawValue: kind)! {
        case .model: ran = try GridJobs.trainModel(id, store: store, tail: tail)
        case .attack: ran = try GridJobs.attack(id, store: store, tail: tail)
        }
        // The job's CPU time, for the grid's cost table (`collect --costs`): in the log only, never in a
        // marker (markers hold numbers that do not depend on the machine); none for a job done before.
        if ran { print(JobCPU.line(JobCPU.now())) }
    }
}
