import Foundation

/// The absolute path of the running executable, for finding the tools and files installed beside it:
/// /proc/self/exe on Linux (argv[0] is whatever the shell was given, often a bare name found through
/// PATH, and resolving it against the working directory finds the wrong file or none), else
/// Foundation's answer.
public enum RunningExecutable {
    /// The path, or nil when the system does not say.
    public static var path: String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"), path.hasPrefix("/") {
            return path
        }
        #endif
        return Bundle.main.executablePath
    }

    /// The directory holding it.
    public static var directory: String? { path.map(PathText.directory(of:)) }
}
