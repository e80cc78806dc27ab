import Foundation

/// Makes OpenBLAS pick its fast kernels on CPUs it misdetects.
///
/// Debian's OpenBLAS 0.3.21 takes this machine family's virtual AVX-512 CPU for a "Prescott" and runs
/// SGEMM about 6x slower than with its SkylakeX kernels (ARCHITECTURE.md). OpenBLAS reads
/// `OPENBLAS_CORETYPE` once, when the library loads, before `main` runs, so a program that wants
/// the fast path for users who run it directly re-executes itself once with the variable set.
/// A value the user set is always respected.
public enum BLASEnvironment {
    /// If `OPENBLAS_CORETYPE` is unset and the CPU reports avx512f, sets it to SkylakeX and re-executes
    /// the current program with the same arguments (Linux only; otherwise does nothing).
    public static func ensureFastKernels() {
        #if os(Linux)
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, cpuHasAVX512F() else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returns only on failure: carry on with the slower kernels.
        for p in cargs { free(p) }
        #endif
    }

    /// Whether /proc/cpuinfo lists the avx512f flag.
    public static func cpuHasAVX512F() -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            return line.split(separator: " ").contains("avx512f")
        }
        return false
    }
}
