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
        guard let text = logTail(path), let line = text.split(separator: "\n").last(where: { $0.hasPrefix(logPrefix) }),
              let v = Double(line.dropFirst(logPrefix.count)), v.isFinite, v >= 0 else { return nil }
        return v
    }

    /// The last 4 KiB of a job's log (its last lines: epoch lines, the CPU line), or nil when it cannot be
    /// read or is not a regular file: a log that is a symlink to /dev/zero (read to its end: without end)
    /// or a FIFO (open waits for a writer) is no log.
    public static func logTail(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let start = max(0, Int(info.st_size) - 4096)
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) - start)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard n >= 0 else { return nil }
        return String(decoding: bytes.prefix(n), as: UTF8.self)
    }
}

extension GridCosts {
    /// A group of jobs that cost alike: models by class, precision and adversarial training; attack
    /// cells by class and attack.
    static func group(_ plan: GridPlan, model m: ModelJob) -> String {
        func value(_ option: String) -> String? { m.arguments.firstIndex(of: option).flatMap { $0 + 1 < m.arguments.count ? m.arguments[$0 + 1] : nil } }
        return "model \(m.resourceClass) \(value("--precision") ?? "?")" + (value("--adversarial").map { " + \($0) training" } ?? "")
    }

    /// The cost table (`collect --costs`, costs.md): per group, the jobs whose logs report their CPU
    /// seconds, the mean per job and per unit (a model's epoch, an attack cell's image), and the whole
    /// plan's CPU estimated from those means (groups with no measured job are left out of the estimate
    /// and named). CPU seconds are this machine's; they are not results and never enter results.*.
    public static func markdown(plan: GridPlan, store: GridStore, results: GridResults) -> String {
        struct Group { var jobs = 0, measured = 0, units = 0.0, measuredUnits = 0.0, cpu = 0.0 }
        var groups: [(String, Group)] = []
        func add(_ key: String, cpu: Double?, units: Double) {
            let i = groups.firstIndex { $0.0 == key } ?? { groups.append((key, Group())); return groups.count - 1 }()
            groups[i].1.jobs += 1
            groups[i].1.units += units
            if let cpu {
                groups[i].1.measured += 1
                groups[i].1.measuredUnits += units
                groups[i].1.cpu += cpu
            }
        }
        for m in plan.models {
            add(group(plan, model: m), cpu: store.isDone(.model, m.id) ? cpuSeconds(log: store.log(.model, m.id)) : nil, units: Double(m.epochs))
        }
        for a in plan.attacks {
            let images = JSONValue.integer(results.results[a.id]?["images"]) ?? plan.options.limit ?? 10_000
            // An edge job that starts from its PGD job costs its search only (the PGD job's cost is PGD's).
            add("attack \(a.resourceClass.dropFirst("attack-".count)) \(a.attack.rawValue)" + (a.start == nil ? "" : " from pgd"),
                cpu: store.isDone(.attack, a.id) ? cpuSeconds(log: store.log(.attack, a.id)) : nil, units: Double(images))
        }
        var s = "| jobs | measured / all | CPU s per job | CPU s per unit | CPU s measured | CPU h, all (est.) |\n|---|---|---|---|---|---|\n"
        var total = 0.0, measuredTotal = 0.0
        var unknown: [String] = []
        for (key, g) in groups {
            let unit = key.hasPrefix("model") ? "epoch" : "image"
            guard g.measured > 0 else {
                unknown.append(key)
                s += "| \(key) | 0 / \(g.jobs) | - | - | - | - |\n"
                continue
            }
            let perUnit = g.cpu / max(g.measuredUnits, 1)
            let all = perUnit * g.units
            total += all
            measuredTotal += g.cpu
            s += "| \(key) | \(g.measured) / \(g.jobs) | " + String(format: "%.1f", g.cpu / Double(g.measured)) + " | "
                + String(format: unit == "epoch" ? "%.2f per epoch" : "%.4f per image", perUnit) + " | " + String(format: "%.0f", g.cpu)
                + " | " + String(format: "%.2f", all / 3600) + " |\n"
        }
        s += "\nMeasured \(String(format: "%.2f", measuredTotal / 3600)) CPU hours; the plan's jobs at the measured means: "
            + String(format: "%.2f CPU hours, about %.2f hours at --jobs 2 on two free cores", total / 3600, total / 7200)
        s += unknown.isEmpty ? ".\n" : " (without " + unknown.joined(separator: ", ") + ": no finished job measured).\n"
        return s
    }
}
