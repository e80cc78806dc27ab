import Foundation

/// Makes OpenBLAS fast on our machines for every user, not only under `make`.
///
/// - Debian's OpenBLAS 0.3.21 takes this machine family's virtual AVX-512 CPU for a "Prescott" and runs
///   SGEMM about 6x slower than with its SkylakeX kernels (ARCHITECTURE.md): set
///   `OPENBLAS_CORETYPE=SkylakeX` when the CPU reports avx512f.
/// - Between matrix products OpenBLAS's worker threads spin (sched_yield) for about 2^28 cycles,
///   taking a core from the trainer's element-wise work: `OPENBLAS_THREAD_TIMEOUT=4` (the minimum)
///   lets them sleep at once; measured 18% faster float FCN2 epochs here.
///
/// OpenBLAS reads its environment once, when the library loads, before `main` runs, so the program
/// re-executes itself once with the variables set. Values the user set are always respected.
public enum BLASEnvironment {
    /// The variables this process would add (name, value), given its environment and CPU.
    public static func missingSettings(environment: [String: String] = ProcessInfo.processInfo.environment,
                                       avx512: Bool = cpuHasAVX512F()) -> [(String, String)] {
        var out: [(String, String)] = []
        if environment["OPENBLAS_CORETYPE"] == nil, avx512 { out.append(("OPENBLAS_CORETYPE", "SkylakeX")) }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil { out.append(("OPENBLAS_THREAD_TIMEOUT", "4")) }
        return out
    }

    /// Sets the missing variables and re-executes the current program with the same arguments (Linux
    /// only; once: the second run finds them set). If exec fails the program carries on as it is.
    public static func ensureFastKernels() {
        #if os(Linux)
        let missing = missingSettings()
        guard !missing.isEmpty else { return }
        for (name, value) in missing { setenv(name, value, 1) }
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
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
