import Foundation

/// Where the data cache lives. One rule for every tool and for `make data` (scripts/fetch-data.sh):
///
/// 1. an explicit `--data-dir`, else
/// 2. `$BITSHIELD_DATA`, else
/// 3. `$XDG_CACHE_HOME/bitshield/data`, else `~/.cache/bitshield/data`.
public enum DataDirectory {
    /// The environment variable that overrides the default cache.
    public static let environmentVariable = "BITSHIELD_DATA"

    /// The cache directory to use, given an optional explicit override.
    public static func resolve(explicit: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment[environmentVariable], !env.isEmpty { return env }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/bitshield/data" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.cache/bitshield/data"
    }
}
