/// The time a grid run has left, from what its jobs cost: seconds per model epoch and per attack cell, kept
/// per resource class (an FCN2 epoch and a conv-net epoch differ threefold, an FCN2 and a conv attack cell
/// tenfold), seeded from the CPU seconds in the logs of jobs finished by earlier runs (`GridCosts`) and added
/// to as this run's jobs finish. A class with no measurement yet takes the mean of its kind; a kind with none
/// at all is left out and the estimate says so ("more than ..."), so a restarted run whose first jobs are
/// attacks still shows a time.
public struct GridEstimate: Sendable {
    /// Seconds per epoch of each model class (`ModelJob.resourceClass`), and per job of each attack class.
    private(set) var epochSeconds: [String: [Double]] = [:]
    private(set) var attackSeconds: [String: [Double]] = [:]

    public init() {}

    /// Seeds the estimate from the logs of `plan`'s jobs that `store` holds as finished (each log's CPU line).
    public init(plan: GridPlan, store: GridStore) {
        for m in plan.models where store.isDone(.model, m.id) {
            if let s = GridCosts.cpuSeconds(log: store.log(.model, m.id)) { addModel(m, seconds: s) }
        }
        for a in plan.attacks where store.isDone(.attack, a.id) {
            if let s = GridCosts.cpuSeconds(log: store.log(.attack, a.id)) { addAttack(a, seconds: s) }
        }
    }

    /// A model job of `model.epochs` epochs took `seconds`.
    public mutating func addModel(_ model: ModelJob, seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        epochSeconds[model.resourceClass, default: []].append(seconds / Double(max(model.epochs, 1)))
    }

    /// An attack job took `seconds`.
    public mutating func addAttack(_ attack: AttackJob, seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        attackSeconds[attack.resourceClass, default: []].append(seconds)
    }

    /// The time left for `models` and `attacks` run `jobs` at once, as text: "0s", "about 2h05m", "more than
    /// about 40m (12 model epochs not yet timed)", or "unknown yet" when nothing left has a measured kind.
    public func remaining(models: [ModelJob], attacks: [AttackJob], jobs: Int) -> String {
        if models.isEmpty && attacks.isEmpty { return "0s" }
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
        let anyEpoch = mean(epochSeconds.values.flatMap { $0 }), anyAttack = mean(attackSeconds.values.flatMap { $0 })
        var seconds = 0.0, untimedEpochs = 0, untimedAttacks = 0
        for m in models {
            if let s = mean(epochSeconds[m.resourceClass] ?? []) ?? anyEpoch { seconds += s * Double(m.epochs) } else { untimedEpochs += m.epochs }
        }
        for a in attacks {
            if let s = mean(attackSeconds[a.resourceClass] ?? []) ?? anyAttack { seconds += s } else { untimedAttacks += 1 }
        }
        let parallel = Double(max(jobs, 1))
        if untimedEpochs == 0 && untimedAttacks == 0 { return "about " + Self.duration(seconds / parallel) }
        if untimedEpochs == models.reduce(0, { $0 + $1.epochs }) && untimedAttacks == attacks.count { return "unknown yet" }
        var untimed: [String] = []
        if untimedEpochs > 0 { untimed.append("\(untimedEpochs) model epoch\(untimedEpochs == 1 ? "" : "s")") }
        if untimedAttacks > 0 { untimed.append("\(untimedAttacks) attack cell\(untimedAttacks == 1 ? "" : "s")") }
        return "more than about " + Self.duration(seconds / parallel) + " (" + untimed.joined(separator: " and ") + " not yet timed)"
    }

    /// Seconds as `1h02m`, `3m05s` or `42s`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + (s % 3600 / 60 < 10 ? "0" : "") + "\(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s" }
        return "\(s)s"
    }
}
