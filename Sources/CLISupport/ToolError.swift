import ArgumentParser
import Foundation

/// The one error type of the command-line tools (`train`, `convert`, `infer`), and with `ToolCommand` their
/// one exit path: the same mistake ends with the same code in every tool (ARCHITECTURE.md: 0 success,
/// 1 failure, 64 bad usage).
///
/// - `usage`: the command line asks for something that cannot be done (an option out of range, an output
///   path that names a directory, options that contradict each other): exit 64, with the usage line, as
///   swift-argument-parser reports its own parse errors.
/// - `failure`: the command line is fine, but a file or the work failed (a missing or malformed input, a
///   model the runtime refuses, a write that failed): exit 1.
///
/// The libraries' typed errors (`TrainerError`, `DatasetError`, `ModelFormatError`, `InferenceError`) are
/// failures; a tool that knows more (the path of the file) wraps them with `failure`.
public enum ToolError: Error, CustomStringConvertible {
    case usage(String)
    case failure(String)

    public var description: String {
        switch self {
        case let .usage(m), let .failure(m): return m
        }
    }

    /// The exit code this error ends the tool with.
    public var exitCode: ExitCode {
        switch self {
        case .usage: return ExitCode.validationFailure
        case .failure: return ExitCode.failure
        }
    }
}

/// A tool command whose work (`execute`) may throw anything: `run()` turns it into one exit path.
public protocol ToolCommand: ParsableCommand {
    /// The command's work, after parsing and `validate()`.
    func execute() throws
}

extension ToolCommand {
    /// Runs `execute()`; a `ToolError.usage` or `ValidationError` exits 64 with the usage line, every other
    /// error (`ToolError.failure`, the libraries' typed errors) prints `error: MESSAGE` on stderr and exits 1.
    public func run() throws {
        do {
            try execute()
        } catch let e as ToolError {
            guard case let .failure(message) = e else { throw ValidationError(e.description) }
            printError(message)
            throw e.exitCode
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch let e as CleanExit {
            throw e
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }
}

/// Writes `error: MESSAGE` and a newline to stderr.
public func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// Writes `warning: MESSAGE` and a newline to stderr.
public func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// Refuses (exit 64, naming `option`) a count that must be positive (`--limit 0`), in every tool's `validate()`.
public func requirePositive(_ option: String, _ value: Int?) throws(ValidationError) {
    if let value, value < 1 { throw ValidationError("\(option) \(value) must be positive") }
}
