import Foundation

/// "Is this output one of my inputs?": the one rule every tool applies before it writes (issue 12, item 7).
/// Two paths name the same file when they resolve to the same canonical path (symlinks, `.`, `..` and
/// repeated slashes resolved, also for an output that does not exist yet), or when both exist and share
/// a device and inode (hard links, bind mounts).
public enum FileIdentity {
    /// Throws `.outputIsInput` naming both paths when any of `outputs` names the same file as any of
    /// `inputs`. Inputs that do not exist are skipped (they cannot be overwritten).
    public static func requireDistinct(outputs: [String], inputs: [String]) throws(DatasetError) {
        for output in outputs {
            for input in inputs where sameFile(output, input) {
                throw .outputIsInput(output: output, input: input)
            }
        }
    }

    /// Whether `a` and `b` name the same file (see the type's comment).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        if canonicalPath(a) == canonicalPath(b) { return true }
        guard let x = deviceAndInode(a), let y = deviceAndInode(b) else { return false }
        return x == y
    }

    /// The device and inode of the file `path` names, following symlinks; nil when it does not exist.
    public static func deviceAndInode(_ path: String) -> (dev: UInt64, ino: UInt64)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (UInt64(s.st_dev), UInt64(s.st_ino))
    }

    /// Whether `path` (not following a final symlink) still names the regular file open as `fd`: after
    /// taking an flock, a locker checks that nobody unlinked or replaced the file meanwhile.
    public static func descriptor(_ fd: Int32, stillNames path: String) -> Bool {
        var open = stat(), named = stat()
        guard fstat(fd, &open) == 0, lstat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino && (open.st_mode & S_IFMT) == S_IFREG
    }

    /// `path` made absolute with every symlink of its longest existing prefix resolved (realpath(3)), and
    /// the components after that prefix normalized lexically (`.` dropped, `..` removing the previous one).
    public static func canonicalPath(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var existing = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var rest: [String] = []
        while true {
            let candidate = "/" + existing.joined(separator: "/")
            if let resolved = realpath(candidate, nil) {
                defer { free(resolved) }
                var parts = String(cString: resolved).split(separator: "/").map(String.init)
                for component in rest.reversed() {
                    switch component {
                    case ".": continue
                    case "..": if !parts.isEmpty { parts.removeLast() }
                    default: parts.append(component)
                    }
                }
                return "/" + parts.joined(separator: "/")
            }
            guard let last = existing.popLast() else { return absolute }
            rest.append(last)
        }
    }
}
