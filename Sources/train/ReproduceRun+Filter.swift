import ArgumentParser
import Foundation
import Trainer

/// Which jobs of a grid `train reproduce --only` runs.
enum JobSelection: String, ExpressibleByArgument, CaseIterable {
    /// Train and convert the models only (attack cells wait for a later run).
    case models
    /// Attack cells only, of models already trained.
    case attacks
}

extension GridPlan {
    /// The plan cut down to the jobs a partial run starts: the cells whose id or table matches one of
    /// `patterns` (shell globs, `t5-*`, `Table 5`; every cell when empty), then only their models or only
    /// their attack cells (`only`), with the PGD jobs their edge jobs start from. The cells stay, so the
    /// reports show the rest as pending.
    func selecting(cells patterns: [String], only: JobSelection?) -> GridPlan {
        let chosen = cells.filter { c in patterns.isEmpty || patterns.contains { c.matches($0) } }
        let models = Set(chosen.map(\.model))
        var attacks = Set(chosen.flatMap { $0.attackJobs.joined() })
        // An edge job's PGD start runs with it (it must finish first).
        attacks.formUnion(self.attacks.filter { attacks.contains($0.id) }.compactMap(\.start))
        var cut = self
        cut.models = only == .attacks ? [] : self.models.filter { models.contains($0.id) }
        cut.attacks = only == .models ? [] : self.attacks.filter { attacks.contains($0.id) }
        return cut
    }
}

extension PlannedCell {
    /// Whether shell glob `pattern` matches the cell's id or its table's name (`--cells`).
    func matches(_ pattern: String) -> Bool { fnmatch(pattern, cell.id, 0) == 0 || fnmatch(pattern, cell.table, 0) == 0 }
}
