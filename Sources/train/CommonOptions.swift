import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

/// Options every `train` subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Data cache directory (default: $BITSHIELD_DATA, else ~/.cache/bitshield/data).")
    var dataDir: String?

    @Flag(help: "Print a one-line JSON summary as the last line of stdout.")
    var json = false

    @Flag(help: "No progress output.")
    var quiet = false

    @Option(help: ArgumentHelp(
        "Memory budget in GiB (1...\(ModelConfig.maxMemoryBudgetGiB)) for a network's weights, gradients, optimizer state and statistics; "
        + "a larger network is refused, with the bytes it needs, before anything is allocated.", valueName: "GiB"))
    var memoryBudget: Int = ModelConfig.defaultMemoryBudget >> 30

    /// `--memory-budget` in bytes.
    var memoryBudgetBytes: Int { memoryBudget << 30 }

    func validate() throws {
        try checkOption("--memory-budget", memoryBudget, ModelConfig.memoryBudgetsGiB)
    }
}

/// Throws a usage error (exit 64) naming `option` when `value` is outside `limit` or not finite.
func checkOption(_ option: String, _ value: Float?, _ limit: FloatLimit) throws {
    if let value, let problem = limit.problem(option, value) { throw ValidationError(problem) }
}

/// Throws a usage error (exit 64) naming `option` when `value` is outside `range`.
func checkOption(_ option: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
    if let value, let problem = range.problem(option, value) { throw ValidationError(problem) }
}

/// `range` as `--help` prints it, e.g. `1...100000`.
func rangeText(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)...\(range.upperBound)" }

extension CommonOptions {
    /// Every file of every data set in the data cache: inputs no output may overwrite.
    var dataFiles: [String] {
        let dir = DataDirectory.resolve(explicit: dataDir)
        return Dataset.allCases.flatMap { $0.files(dataDirectory: dir) }
    }
}
