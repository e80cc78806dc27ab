/// A grid's unfinished jobs as Slurm job arrays (`train reproduce --emit slurm DIR`): one array per
/// resource class (`train-fcn2`, `train-fcn1`, `train-conv`, `attack-fcn2`, ...), each task one job of
/// the class (`train reproduce job OUT KIND ID`, the same command the local runner starts), one BLAS
/// thread per task, a log per task (`OUT/logs/CLASS-%A_%a.log`). `submit.sh` submits the training
/// arrays and then each attack array with `--dependency=afterok:` on the training arrays whose models
/// it attacks. Edge jobs that start from an unfinished PGD job (`AttackJob.start`) are an array of their
/// own, `CLASS-from-pgd`, submitted last with `afterok` on the attack arrays holding those PGD jobs too
/// (afterok on an array waits for every task: one failed PGD task holds back the whole edge array, which
/// `--emit slurm` again, after a fix, resubmits). `collect.sh` merges whatever has finished. The output
/// directory must be on a file system every node sees.
public struct SlurmEmission {
    /// File name to contents.
    public var files: [(name: String, text: String)] = []
    /// Classes in submission order with their task counts.
    public var arrays: [(resourceClass: String, tasks: Int)] = []

    /// Minutes per epoch a training task of `resourceClass` is allowed (about twice what it takes here), and
    /// minutes an attack task is.
    static func minutes(_ resourceClass: String, epochs: Int) -> Int {
        if resourceClass.hasSuffix(fromPGD) { return minutes(String(resourceClass.dropLast(fromPGD.count)), epochs: epochs) }
        let perEpoch = ["train-fcn1": 30, "train-fcn2": 3, "train-conv": 10]
        if let m = perEpoch[resourceClass] { return 15 + m * epochs }
        if resourceClass.hasPrefix("train-") { return 15 + 2 * epochs }
        return ["attack-fcn1": 24 * 60, "attack-fcn2": 3 * 60, "attack-conv": 8 * 60][resourceClass] ?? 60
    }

    /// Memory per task in GiB (FCN1 with Adam takes about 1.9 GB).
    static func memoryGiB(_ resourceClass: String) -> Int { resourceClass.replacingOccurrences(of: fromPGD, with: "").hasSuffix("fcn1") ? 8 : 3 }

    /// The suffix of the arrays of edge jobs that wait for their PGD starts.
    static let fromPGD = "-from-pgd"

    /// `s` in single quotes for the shell.
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// `directory` and a file name `pattern` after it as the value of an `#SBATCH` filename option. sbatch
    /// splits such a line at blanks, ends it at an unquoted `#`, strips quotes and backslashes (a directory
    /// with a space, `#` or quote would name another file) and expands `%` patterns (`%j`, `%A`...): so the
    /// value is in double quotes, the directory's `\\` and `"` escaped and its `%` written `%%`, while
    /// `pattern`'s `%A_%a` stays a pattern. (A line break cannot be quoted: `lineProblem` refuses it first.)
    static func sbatchPath(_ directory: String, pattern: String) -> String {
        "\"" + directory.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "%", with: "%%") + pattern + "\""
    }

    /// Why `text` (a path, an argument or an `#SBATCH` option named `what`) cannot go into the emitted
    /// scripts, or nil: a control character (a line break would end an `#SBATCH` line and start a shell
    /// command of the rest; no quoting holds it there).
    public static func lineProblem(_ text: String, what: String) -> String? {
        guard let c = text.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        return "\(what) '\(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined())' holds the control "
            + "character \(String(format: "0x%02X", c.value)) (a line break or other): the Slurm scripts cannot hold it"
    }

    /// The arrays for `plan`'s jobs that `store` has not finished, to be written into `directory` (an
    /// absolute path: the scripts name their lists by it). `train` is the executable's absolute path
    /// on the cluster; `tail` is appended to every `train reproduce job` command (e.g. `--data-dir`);
    /// `sbatchOptions` become extra `#SBATCH` lines (`--partition=gpu`, `--account=...`).
    /// - Throws: `invalidConfig` naming a path, argument or option that holds a control character (`lineProblem`).
    public init(plan: GridPlan, store: GridStore, directory: String, train: String, tail: [String], sbatchOptions: [String]) throws(TrainerError) {
        let texts = [("the output directory", store.root), ("the Slurm directory", directory), ("the train path", train)]
            + tail.map { ("the job argument", $0) } + sbatchOptions.map { ("--sbatch", $0) }
        for (what, text) in texts { if let problem = Self.lineProblem(text, what: what) { throw .invalidConfig(problem) } }
        let models = plan.models.filter { !store.isDone(.model, $0.id) }
        // An edge job whose PGD start is still to run waits in an array of its own.
        let attacks = plan.attacks.filter { !store.isDone(.attack, $0.id) }.map { job in
            var a = job
            if let s = job.start, !store.isDone(.attack, s) { a.resourceClass += Self.fromPGD }
            return a
        }
        var classes: [String] = []
        for c in models.map(\.resourceClass) + attacks.map(\.resourceClass) where !classes.contains(c) { classes.append(c) }
        classes = classes.filter { !$0.hasSuffix(Self.fromPGD) } + classes.filter { $0.hasSuffix(Self.fromPGD) }
        var submit = "#!/bin/bash\n# Submits the grid's unfinished jobs (written by train reproduce --emit slurm).\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n"
        // Slurm creates no directories for --output.
        submit += "mkdir -p \(Self.quoted(store.root + "/logs"))\n"
        var arrayVariables: [String: String] = [:]  // class -> shell variable holding its job id
        for c in classes {
            let isTrain = c.hasPrefix("train-")
            let ids = isTrain ? models.filter { $0.resourceClass == c }.map(\.id) : attacks.filter { $0.resourceClass == c }.map(\.id)
            let epochs = models.filter { $0.resourceClass == c }.map(\.epochs).max() ?? 1
            let minutes = Self.minutes(c, epochs: epochs)
            var s = "#!/bin/bash\n#SBATCH --job-name=bitshield-\(c)\n#SBATCH --array=0-\(ids.count - 1)\n"
            s += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n#SBATCH --mem=\(Self.memoryGiB(c))G\n"
            s += "#SBATCH --time=\(minutes / 60):\(minutes % 60 < 10 ? "0" : "")\(minutes % 60):00\n"
            s += "#SBATCH --output=\(Self.sbatchPath(store.root + "/logs/", pattern: c + "-%A_%a.log"))\n"
            for o in sbatchOptions { s += "#SBATCH \(o)\n" }
            s += "set -euo pipefail\n# One BLAS thread per task: the same numbers as a local --jobs run.\nexport OPENBLAS_NUM_THREADS=1\n"
            s += "ID=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \(Self.quoted(directory + "/" + c + ".list")))\n"
            let command = [train, "reproduce", "job", store.root, isTrain ? "model" : "attack"].map(Self.quoted).joined(separator: " ")
            s += "exec \(command) \"$ID\"" + tail.map { " " + Self.quoted($0) }.joined() + "\n"
            files.append((c + ".list", ids.joined(separator: "\n") + "\n"))
            files.append((c + ".sbatch", s))
            arrays.append((c, ids.count))
            let variable = "JOB_" + c.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            var dependency = ""
            if !isTrain {
                // The training arrays holding the models this class attacks, and the attack arrays holding its PGD starts.
                let mine = attacks.filter { $0.resourceClass == c }
                let needed = Set(mine.map(\.model)), starts = Set(mine.compactMap(\.start))
                let deps = classes.filter { t in
                    t.hasPrefix("train-") ? models.contains { $0.resourceClass == t && needed.contains($0.id) }
                        : attacks.contains { $0.resourceClass == t && starts.contains($0.id) }
                }
                if !deps.isEmpty { dependency = " --dependency=afterok:" + deps.map { "$" + arrayVariables[$0]! }.joined(separator: ":") }
            }
            arrayVariables[c] = variable
            submit += "\(variable)=$(sbatch --parsable\(dependency) \(Self.quoted(c + ".sbatch")) | cut -d';' -f1)\n"
            submit += "echo \"\(c): job $\(variable) (\(ids.count) tasks)\"\n"
        }
        if classes.isEmpty { submit += "echo 'every job has finished; run collect.sh'\n" }
        files.append(("submit.sh", submit))
        let collect = [train, "reproduce", "collect", store.root].map(Self.quoted).joined(separator: " ")
        files.append(("collect.sh", "#!/bin/bash\n# Merges the finished jobs into results.json, .md and .csv.\nexec \(collect)\n"))
    }
}
