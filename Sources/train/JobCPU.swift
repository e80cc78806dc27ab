import Foundation
import Trainer

/// A grid job's CPU time (user + system, its own and its waited-for children's: `convert`, `infer`,
/// `verify`), the cost measure of a shared machine where wall time means nothing. Each job prints it
/// as the last line of its log (`JobCPU.line`); `collect --costs` reads it back (`GridCosts.cpuSeconds`).
enum JobCPU {
    /// Seconds of CPU this process and its reaped children used so far.
    static func now() -> Double {
        var own = rusage(), children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(own.ru_utime) + s(own.ru_stime) + s(children.ru_utime) + s(children.ru_stime)
    }

    static func line(_ seconds: Double) -> String { GridCosts.logPrefix + String(format: "%.3f", seconds) }
}
