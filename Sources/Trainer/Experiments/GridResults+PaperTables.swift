import Foundation

/// One of the paper's tables or figures as the grid declares it: the cells whose `table` names it, in
/// the grid's order (the paper's rows), the budgets of its columns and the attacks its cells are scored under.
public struct PaperTable: Sendable {
    /// The table's name as the grid gives it (`Table 5`, `Fig. 4(b)`).
    public var name: String
    /// Its rows.
    public var cells: [PlannedCell]
    /// Its budget columns, in the order the cells first list them (`0.1`, `8/255`).
    public var budgets: [String]
    /// The attacks of its cells, the paper's attack (FGSM) first, then in `AttackConfig.Kind`'s order.
    public var attacks: [AttackConfig.Kind]
    /// The file stem of its plot (`plots/STEM.svg`): its slug, numbered when two tables share one.
    public var fileStem: String

    /// Its name as a file stem: lower-case letters and digits, runs of anything else as one `-`
    /// (`Table 1 / Fig. 4(a) (CIFAR-10)` -> `table-1-fig-4-a-cifar-10`).
    public var slug: String {
        var s = ""
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                s.unicodeScalars.append(scalar)
            } else if !s.isEmpty && !s.hasSuffix("-") {
                s += "-"
            }
        }
        while s.hasSuffix("-") { s.removeLast() }
        return s.isEmpty ? "table" : s
    }
}

extension GridPlan {
    /// The plan's cells grouped into the paper's tables, in the order each table first appears.
    public var paperTables: [PaperTable] {
        var names: [String] = []
        for c in cells where !names.contains(c.cell.table) { names.append(c.cell.table) }
        var stems: Set<String> = []
        return names.map { name in
            let rows = cells.filter { $0.cell.table == name }
            var budgets: [String] = []
            for c in rows { for e in c.cell.epsilons where !budgets.contains(e.text) { budgets.append(e.text) } }
            let used = Set(rows.flatMap(\.cell.attacks))
            let paperAttacks = Set(rows.map(\.cell.paper.attack))
            let attacks = AttackConfig.Kind.allCases.filter { used.contains($0) && paperAttacks.contains($0) }
                + AttackConfig.Kind.allCases.filter { used.contains($0) && !paperAttacks.contains($0) }
            var table = PaperTable(name: name, cells: rows, budgets: budgets, attacks: attacks, fileStem: "")
            // Two names that differ only in punctuation would share a plot file: number the later ones.
            var stem = table.slug, n = 2
            while stems.contains(stem) { stem = table.slug + "-\(n)"; n += 1 }
            stems.insert(stem)
            table.fileStem = stem
            return table
        }
    }
}

/// The number a report cell shows for one attack at one budget of one row: the job's robust accuracy
/// (percent), `pending` while it has not finished, or nothing when the cell does not run that attack or budget.
enum ReportValue: Equatable {
    case percent(Double)
    case pending
    case none

    var text: String {
        switch self {
        case .percent(let v): return String(format: "%.1f", v)
        case .pending: return "pending"
        case .none: return "-"
        }
    }
}

extension GridResults {
    /// Ours under `attack` at budget column `budget` of cell `c`, in percent.
    func value(_ c: PlannedCell, _ attack: AttackConfig.Kind, _ budget: String) -> ReportValue {
        guard let a = c.cell.attacks.firstIndex(of: attack), let e = c.cell.epsilons.firstIndex(where: { $0.text == budget }) else { return .none }
        let id = c.attackJobs[a][e]
        guard results[id] != nil else { return .pending }
        return robust(id).map { .percent($0 * 100) } ?? .none
    }

    /// Our clean accuracy of cell `c`, in percent (pending before any of its attack jobs finished).
    func cleanValue(_ c: PlannedCell) -> ReportValue { clean(c).map { .percent($0 * 100) } ?? .pending }

    /// The paper's number at budget column `budget` of cell `c`, or nil.
    func paperValue(_ c: PlannedCell, _ budget: String) -> Double? {
        guard let e = c.cell.epsilons.firstIndex(where: { $0.text == budget }) else { return nil }
        return c.cell.paper.robust[e]
    }

    /// Ours minus the paper's in points, under the paper's attack, at budget column `budget` (nil: no pair to compare).
    func difference(_ c: PlannedCell, budget: String) -> Double? {
        guard let e = c.cell.epsilons.firstIndex(where: { $0.text == budget }) else { return nil }
        return difference(c, e)
    }

    /// A row's name with `*` when FCN2 or Fashion-MNIST stands in for the paper's network or data set.
    static func rowName(_ c: PlannedCell) -> String { ReportEscaping.markdown(c.cell.row) + (c.standsIn ? "\\*" : "") }

    /// `tables.md`: one table per paper table or figure, laid out as the paper prints it (its rows, then
    /// clean and one column per budget). A budget cell is `paper · FGSM / PGD / edge (FGSM - paper)` in
    /// percent (the attacks its cells run, the paper's first); `-` where the paper prints no number or a
    /// row does not run that budget, `pending` where the job has not finished: never a number it does not have.
    public func tablesMarkdown() -> String {
        var s = "# \(ReportEscaping.markdown(plan.grid.name)): the paper's tables, ours beside them\n\n"
        s += "Generated by `train reproduce collect` from \(results.count) of \(plan.attacks.count) attack jobs"
        s += " (\(plan.models.count) models; \(runDescription)).\n\n"
        s += "Each budget cell is `paper · ours under each attack (ours - paper under the paper's attack)`, in percent;"
        s += " the attacks are named in each table's header, the paper's attack (FGSM) first. The clean column is"
        s += " `paper · ours (ours - paper)`. `-`: no number (the paper prints none, or the row does not run that budget);"
        s += " `pending`: the job has not finished. `*`: a network or data set that stands in for the paper's"
        s += " (FCN2 for FCN1, the conv net on Fashion-MNIST for AlexNet on CIFAR-10).\n" + edgeNote
        for t in plan.paperTables {
            let names = t.attacks.map(Self.attackName).joined(separator: " / ")
            s += "\n## \(ReportEscaping.markdown(t.name))\n\n"
            s += "Budget cells: paper · \(names) (Δ). Plot: [\(t.fileStem).svg](plots/\(ReportEscaping.markdownLink(t.fileStem)).svg).\n\n"
            s += "| model | net | clean | " + t.budgets.map { "ε \(ReportEscaping.markdown($0))" }.joined(separator: " | ") + " |\n"
            s += "|---|---|---|" + String(repeating: "---|", count: t.budgets.count) + "\n"
            for c in t.cells {
                let net = ReportEscaping.markdown("\(c.net) \(c.dataset.rawValue)")
                let clean = cleanValue(c)
                var row = "| \(Self.rowName(c)) | \(net) | \(Self.paperText(c.cell.paper.clean)) · \(clean.text)"
                if case .percent(let v) = clean, let p = c.cell.paper.clean { row += " (" + String(format: "%+.1f", v - p) + ")" }
                row += " |"
                for b in t.budgets {
                    guard c.cell.epsilons.contains(where: { $0.text == b }) else { row += " - |"; continue }
                    let ours = t.attacks.map { value(c, $0, b) }
                    // A budget none of whose jobs finished reads `pending` once, not once per attack.
                    let text = ours.allSatisfy { $0 == .pending } ? "pending" : ours.map(\.text).joined(separator: " / ")
                    row += " \(Self.paperText(paperValue(c, b))) · " + text
                    if let d = difference(c, budget: b) { row += " (" + String(format: "%+.1f", d) + ")" }
                    row += " |"
                }
                s += row + "\n"
            }
            let notes = t.cells.compactMap { c in c.cell.note.map { "- \(ReportEscaping.markdown(c.cell.row)): \(ReportEscaping.markdown($0))" } }
            if !notes.isEmpty { s += "\n" + notes.joined(separator: "\n") + "\n" }
        }
        return s
    }

    /// `tables.csv`: one line per table, row and column (clean, then each budget), the paper's number and
    /// ours under each attack of the grid in percent, and the difference; `pending` in a field whose job
    /// has not finished, empty where there is no number.
    public func tablesCSV() -> String {
        let used = Set(plan.cells.flatMap(\.cell.attacks))
        let attacks = AttackConfig.Kind.allCases.filter { used.contains($0) }
        var s = "table,row,cell,net,dataset,stands_in,column,paper_percent,"
            + attacks.map { "\($0.rawValue)_percent" }.joined(separator: ",") + (attacks.isEmpty ? "" : ",") + "difference_points\n"
        func field(_ v: ReportValue) -> String {
            switch v {
            case .percent(let p): return Self.number(p)
            case .pending: return "pending"
            case .none: return ""
            }
        }
        for t in plan.paperTables {
            for c in t.cells {
                let head = [ReportEscaping.csvText(t.name), ReportEscaping.csvText(c.cell.row), c.cell.id, ReportEscaping.csvText(c.net),
                            c.dataset.rawValue, String(c.standsIn)]
                let clean = cleanValue(c)
                var cleanDiff: Double?
                if case .percent(let v) = clean, let p = c.cell.paper.clean { cleanDiff = v - p }
                s += (head + ["clean", Self.number(c.cell.paper.clean)] + attacks.map { c.cell.attacks.contains($0) ? field(clean) : "" }
                    + [Self.number(cleanDiff)]).joined(separator: ",") + "\n"
                for e in c.cell.epsilons {
                    s += (head + [ReportEscaping.csvText("eps " + e.text), Self.number(paperValue(c, e.text))]
                        + attacks.map { field(value(c, $0, e.text)) } + [Self.number(difference(c, budget: e.text))]).joined(separator: ",") + "\n"
                }
            }
        }
        return s
    }

    /// The options of the run in words (`preset fcn2, first 200 test images, ...`).
    var runDescription: String {
        var s = "preset \(plan.options.preset.rawValue)"
        if let n = plan.options.limit { s += ", first \(n) test images" }
        if let n = plan.options.trainLimit { s += ", first \(n) training images" }
        if let n = plan.options.maxEpochs { s += ", at most \(n) epoch\(n == 1 ? "" : "s") per model" }
        return s
    }

    /// Whether the run was cut down (test or training images, epochs): its numbers are a smoke test, not results.
    public var isSmokeRun: Bool { plan.options.limit != nil || plan.options.trainLimit != nil || plan.options.maxEpochs != nil }

    static func paperText(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }

    /// An attack as the reports name it (`FGSM`, `PGD-BPDA`, `edge`).
    static func attackName(_ k: AttackConfig.Kind) -> String {
        switch k {
        case .fgsm: return "FGSM"
        case .rfgsm: return "R-FGSM"
        case .pgd: return "PGD-BPDA"
        default: return k.rawValue
        }
    }
}
