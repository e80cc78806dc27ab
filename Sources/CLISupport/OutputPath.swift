import ArgumentParser
import Datasets
import Foundation

/// Refuses (a usage error, exit 64, naming `option`) an output file that the write at the end of a run
/// would fail on, before the run spends an epoch or an attack on it: a path that names a directory, a
/// path under a file, or under a directory this process cannot write. Missing directories are fine
/// (the writer creates them). Every tool checks its output files with it, in `validate()` where the path
/// is known from the command line (so the error shows the subcommand's usage).
public func requireWritableFile(_ path: String, option: String) throws(ValidationError) {
    if let problem = PathText.fileNameProblem(path) { throw ValidationError("\(option) \(problem); give a file name") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ValidationError("\(option) \(path) is a directory; give a file name")
    }
    try requireWritableAncestor(of: URL(fileURLWithPath: path).deletingLastPathComponent(), path, option: option)
}

/// Refuses (a usage error, exit 64, naming `option`) an output directory the run would fail to create or
/// write into, before it starts: a path that is a file (or another non-directory), a path under a file,
/// or under a directory this process cannot write; the same for each of `subdirectories` the run creates
/// inside it (a grid's `logs`). A missing directory is fine (the run creates it).
public func requireWritableDirectory(_ path: String, subdirectories: [String] = [], option: String) throws(ValidationError) {
    guard !path.isEmpty else { throw ValidationError("\(option) is empty; give a directory") }
    for p in [path] + subdirectories.map({ path + "/" + $0 }) {
        try requireWritableAncestor(of: URL(fileURLWithPath: p), p, option: option)
    }
}

/// The nearest existing ancestor of `url` (itself included) must be a writable directory; `path` and
/// `option` name the output in the message.
private func requireWritableAncestor(of url: URL, _ path: String, option: String) throws(ValidationError) {
    var url = url, isDirectory: ObjCBool = false
    while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { return }
        url = parent
    }
    guard isDirectory.boolValue else { throw ValidationError("\(option) \(path): \(url.path) is not a directory") }
    guard access(url.path, W_OK) == 0 else { throw ValidationError("\(option) \(path): directory \(url.path) is not writable") }
}

/// Refuses (exit 64, naming `option`) an output prefix that ends in a directory (`adv/`, `.`, `..`, or
/// empty), which would write files named only by their suffix (`adv/-images-idx3-ubyte`), hidden among
/// the others; then each of the prefix's `files` as `requireWritableFile` does.
public func requireFilePrefix(_ prefix: String, files: [String], option: String) throws(ValidationError) {
    if let problem = PathText.outputPrefixProblem(prefix) { throw ValidationError("\(option) \(problem)") }
    for f in files { try requireWritableFile(f, option: option) }
}

/// Refuses (exit 1, naming both) an output that is one of the run's inputs (`FileIdentity`: symlinks,
/// `..`, hard links), before anything is read or written.
public func refuseOverwriting(inputs: [String], with outputs: [String]) throws(ToolError) {
    do { try FileIdentity.requireDistinct(outputs: outputs, inputs: inputs) } catch { throw .failure(error.description) }
}
