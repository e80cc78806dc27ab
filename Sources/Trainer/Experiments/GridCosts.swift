import Datasets
import Foundation

/// What a grid run costs, from its jobs' logs: each job process prints its CPU seconds (its own and its
/// children's) as a last line starting with `logPrefix`. Costs are CPU time, not wall time: on a shared
/// machine only CPU time repeats.
public enum GridCosts {
    /// The start of the CPU line in a job's log (`train reproduce job` prints it after a finished job).
    public static let logPrefix = "job cpu seconds: "

    /// The CPU seconds a job's log reports (its last such line), or nil when it has none.
    public static func cpuSeconds(log path: String) -> Double? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: size > 4096 ? size - 4096 : 0)
        let text = String(decoding: (try? h.readToEnd()) ?? Data(), as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(logPrefix) }),
              let v = Double(line.dropFirst(logPrefix.count)), v.isFinite, v >= 0 else { return nil }
        return v
    }
}
