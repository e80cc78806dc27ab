// How a search's time limit is measured. The default, the search thread's CPU time, is the work one thread did
// on the image, which a loaded machine (other processes sharing the cores) does not change; wall-clock time is
// what a caller waiting for the answer sees. Both are read where the search polls its deadline (every 16
// branch-and-bound nodes, every 64 attack moves, CaDiCaL's terminate callback), all on the search's thread.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock a search's time limit (and `verify`'s time per image) is measured on.
public enum SearchClock: String, CaseIterable, Sendable {
    /// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID).
    case cpu
    /// Monotonic wall-clock time (CLOCK_MONOTONIC).
    case wall

    /// Seconds on this clock (an arbitrary origin; only differences mean anything).
    public func now() -> Double {
        var ts = timespec()
        clock_gettime(self == .cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// The moment on a `SearchClock` after which a search stops.
struct SearchDeadline: Sendable {
    let clock: SearchClock
    let seconds: Double

    /// `limit` from now on `clock`.
    init(clock: SearchClock, after limit: Duration) {
        self.clock = clock
        let (s, atto) = limit.components
        seconds = clock.now() + Double(s) + Double(atto) * 1e-18
    }

    /// Whether the moment has come.
    var passed: Bool { clock.now() >= seconds }
}
