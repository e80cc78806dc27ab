import ArgumentParser
import Foundation

/// Refuses (a usage error naming `option`, exit 64) an output file that the write at the end of a run
/// would fail on, before the run spends an epoch or an attack on it: a path that names a directory, a
/// path under a file, or under a directory this process cannot write. Missing directories are fine
/// (the writer creates them).
func requireWritableFile(_ path: String, option: String) throws {
    guard !path.isEmpty else { throw ValidationError("\(option) is empty; give a file name") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ValidationError("\(option) \(path) is a directory; give a file name")
    }
    // The nearest existing ancestor must be a writable directory.
    var url = URL(fileURLWithPath: path).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { return }
        url = parent
    }
    guard isDirectory.boolValue else { throw ValidationError("\(option) \(path): \(url.path) is not a directory") }
    guard access(url.path, W_OK) == 0 else { throw ValidationError("\(option) \(path): directory \(url.path) is not writable") }
}

/// Refuses (exit 64) an output prefix that ends in a directory (`adv/`, `.`, `..`, or empty), which
/// would write files named only by their suffix (`adv/-images-idx3-ubyte`), hidden among the others.
func requireFilePrefix(_ prefix: String, option: String) throws {
    let last = prefix.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
    guard last.isEmpty || last == "." || last == ".." else { return }
    throw ValidationError("\(option) '\(prefix)' ends in a directory; give a file prefix such as DIR/NAME")
}
