/// Path arithmetic on strings, in plain Swift. swift-corelibs-foundation's
/// `NSString.deletingLastPathComponent` traps (SIGILL) on a relative path whose last component is one
/// character (`s`, `.`, `~`, `q/`): issue 12's red-team row 1. The tools split paths here instead.
public enum PathText {
    /// The directory part of `path`: everything before its last `/` (trailing slashes ignored); `/` for a
    /// file in the root, "" for a bare name.
    public static func directory(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let head = withoutTrailingSlashes(String(trimmed[..<slash]))
        return head.isEmpty ? "/" : head
    }

    /// The last component of `path` (trailing slashes ignored); "" for "" and "/".
    public static func lastComponent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The last component without its extension (the part after its last `.`, unless that `.` starts the name).
    public static func stem(of path: String) -> String {
        let name = lastComponent(of: path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// `path` without its extension, the directory kept (`a/m.safetensors` -> `a/m`).
    public static func deletingExtension(of path: String) -> String {
        let name = lastComponent(of: path), stem = stem(of: path)
        guard name != stem, path.hasSuffix(name) else { return path }
        return String(path.dropLast(name.count - stem.count))
    }

    /// `path` without trailing slashes (but "/" stays "/").
    static func withoutTrailingSlashes(_ path: String) -> String {
        var s = Substring(path)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }

    /// Why `path` cannot name a file to write, or nil: it must end in a file name, so be neither empty, nor
    /// end in `/`, nor in `.` or `..` (each names a directory).
    public static func fileNameProblem(_ path: String) -> String? {
        if path.isEmpty { return "is empty" }
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if last.isEmpty || last == "." || last == ".." { return "'\(path)' names a directory, not a file" }
        return nil
    }

    /// Why `prefix` cannot be an output prefix (PREFIX.md, PREFIX.csv, ...), or nil: the rule of
    /// `fileNameProblem` (a prefix `.`, `q/` or "" would write hidden files such as `..md` or `q/.md`).
    public static func outputPrefixProblem(_ prefix: String) -> String? {
        fileNameProblem(prefix).map { "\($0): give a file prefix such as \(prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/")mnist" }
    }
}
