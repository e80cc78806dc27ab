import ArgumentParser
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
}

extension CommonOptions {
    /// Every file of every data set in the data cache: inputs no output may overwrite.
    var dataFiles: [String] {
        let dir = DataDirectory.resolve(explicit: dataDir)
        return Dataset.allCases.flatMap { $0.files(dataDirectory: dir) }
    }
}

/// Runs `body`, turning the libraries' typed errors into a message on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as TrainerError {
        FileHandle.standardError.write(Data("error: \(e)\n".utf8))
        throw ExitCode.failure
    } catch let e as DatasetError {
        FileHandle.standardError.write(Data("error: \(e)\n".utf8))
        throw ExitCode.failure
    }
}
