#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of the whole process (user + system, all threads), for benchmarks on a shared machine: wall time
/// there depends on the other processes, CPU time much less (scripts/bench-train.sh compares it with the
/// PyTorch peer's `time.process_time()`).
public enum ProcessCPUTime {
    /// Seconds of CPU the process has used so far (`CLOCK_PROCESS_CPUTIME_ID`).
    public static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
