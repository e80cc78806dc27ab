import Datasets
import Foundation

/// What our numbers say about one of the paper's claims under one attack.
enum ClaimVerdict: Equatable {
    /// Both sides finished: our margin in points (`beats`: better - worse; `nearClean`: robust - clean),
    /// the two numbers, and whether the margin is inside the sampling noise of the images scored.
    case measured(margin: Double, left: Double, right: Double, holds: Bool, withinNoise: Bool)
    case pending
}

extension GridResults {
    /// The run's commands as a person types them (this grid's options; GRID is the grid file, experiments/paper.json).
    var commands: String {
        var o = " --preset \(plan.options.preset.rawValue)"
        if let n = plan.options.limit { o += " --limit \(n)" }
        if let n = plan.options.trainLimit { o += " --train-limit \(n)" }
        if let n = plan.options.maxEpochs { o += " --max-epochs \(n)" }
        if plan.options.paperDatasets { o += " --paper-datasets" }
        return "    train reproduce experiments/paper.json --out RUN\(o) --jobs 2\n    train reproduce collect RUN --to results\n"
    }

    /// The sampling noise of a difference of two accuracies measured on `images` images each, in points:
    /// twice the largest standard error of the difference, 2 · sqrt(2 · 0.25 / n) · 100.
    static func noisePoints(images: Int) -> Double { images > 0 ? 200 * (0.5 / Double(images)).squareRoot() : 100 }

    /// The images a job scored (nil before it finished).
    func images(_ c: PlannedCell, _ attack: AttackConfig.Kind, _ budget: String) -> Int? {
        guard let a = c.cell.attacks.firstIndex(of: attack), let e = c.cell.epsilons.firstIndex(where: { $0.text == budget }) else { return nil }
        return results[c.attackJobs[a][e]]?["images"] as? Int
    }

    /// The verdict on `claim` under `attack`, or nil when the grid lacks its cells, budget or attack.
    func verdict(_ claim: PaperClaim, _ attack: AttackConfig.Kind) -> ClaimVerdict? {
        let cells = claim.cells.map { id in plan.cells.first { $0.cell.id == id } }
        guard cells.allSatisfy({ $0 != nil }) else { return nil }
        let found = cells.compactMap { $0 }
        switch claim.kind {
        case .beats(_, _, let eps):
            let a = value(found[0], attack, eps), b = value(found[1], attack, eps)
            guard a != .none, b != .none else { return nil }
            guard case .percent(let x) = a, case .percent(let y) = b else { return .pending }
            let n = min(images(found[0], attack, eps) ?? 0, images(found[1], attack, eps) ?? 0)
            return .measured(margin: x - y, left: x, right: y, holds: x > y, withinNoise: abs(x - y) < Self.noisePoints(images: n))
        case .nearClean(_, let eps, let points):
            let r = value(found[0], attack, eps)
            guard r != .none else { return nil }
            guard case .percent(let x) = r, case .percent(let clean) = cleanValue(found[0]) else { return .pending }
            return .measured(margin: x - clean, left: x, right: clean, holds: clean - x <= points, withinNoise: false)
        }
    }

    /// The claim in words, with the paper's own figures where it prints them.
    func claimText(_ claim: PaperClaim) -> String {
        let cells = claim.cells.compactMap { id in plan.cells.first { $0.cell.id == id } }
        func name(_ i: Int) -> String { ReportEscaping.markdown(claim.names[min(i, claim.names.count - 1)]) + (cells[i].standsIn ? "\\*" : "") }
        switch claim.kind {
        case .beats(_, _, let eps):
            var s = "\(name(0)) keeps more accuracy than \(name(1)) at ε \(eps)"
            if let p = paperValue(cells[0], eps), let q = paperValue(cells[1], eps) {
                s += " (paper: " + String(format: "%.1f against %.1f, %+.1f points", p, q, p - q) + ")"
            } else {
                s += " (paper: in its figure and text, no number)"
            }
            return s
        case .nearClean(_, let eps, let points):
            var s = "\(name(0)) stays within \(String(format: "%g", points)) points of its clean accuracy at ε \(eps)"
            if let p = paperValue(cells[0], eps), let c = cells[0].cell.paper.clean {
                s += " (paper: " + String(format: "%.1f against %.1f clean", p, c) + ")"
            } else {
                s += " (paper: in its figure and text, no number)"
            }
            return s
        }
    }

    static func verdictText(_ v: ClaimVerdict, _ claim: PaperClaim) -> String {
        guard case .measured(let m, let l, let r, let holds, let noise) = v else { return "pending" }
        let numbers: String
        switch claim.kind {
        case .beats: numbers = String(format: "%.1f against %.1f, %+.1f points", l, r, m)
        case .nearClean: numbers = String(format: "%.1f against %.1f clean, %+.1f points", l, r, m)
        }
        return (holds ? "holds" : "does not hold") + " (\(numbers))" + (noise ? ", within the sampling noise" : "")
    }

    /// `README.md`: in plain words, which of the paper's claims our numbers bear out under FGSM (the
    /// paper's attack) and which do not under the multi-step (PGD-BPDA), quantizer-aware (edge) and, where
    /// a cell asks for it, certified figures; the largest difference from the paper in each table; the cells
    /// where FCN2 or Fashion-MNIST stands in; the files and the commands. Pending jobs are said to be pending.
    public func readme(claims: [PaperClaim] = PaperClaim.paper) -> String {
        var s = "# Results: \(ReportEscaping.markdown(plan.grid.name))\n\n"
        if isSmokeRun {
            s += "**A smoke run (\(runDescription)): its numbers test the pipeline and are not results.**\n\n"
        }
        s += "Generated by `train reproduce collect` from \(results.count) of \(plan.attacks.count) attack jobs (\(plan.models.count) models; \(runDescription)).\n\n"
        s += "- [tables.md](tables.md): the paper's tables laid out as it prints them, the paper's number beside ours under each attack, and the difference; [tables.csv](tables.csv) the same numbers\n"
        s += "- plots of accuracy against ε, one per table: " + plan.paperTables.map { "[\(ReportEscaping.markdown($0.name))](plots/\(ReportEscaping.markdownLink($0.fileStem)).svg)" }.joined(separator: ", ") + "\n"
        s += "- [results.md](results.md), [results.csv](results.csv), [results.json](results.json): every attack cell, one row per attack\n\n"
        s += "Commands (RUN is the run's directory; a finished job is never redone, so rerunning resumes):\n\n" + commands

        let used = claims.filter { c in c.cells.allSatisfy { id in plan.cells.contains { $0.cell.id == id } } }
        let attacks = AttackConfig.Kind.allCases.filter { k in plan.cells.contains { $0.cell.attacks.contains(k) } }
        s += "\n## The paper's claims under each attack\n\n"
        if used.isEmpty { s += "This grid holds none of the cells the paper's claims compare.\n" }
        var tally: [AttackConfig.Kind: (holds: Int, fails: Int, pending: Int)] = [:]
        for claim in used {
            s += "- **\(ReportEscaping.markdown(claim.source))**: \(claimText(claim)).\n"
            let verdicts = attacks.compactMap { k in verdict(claim, k).map { (k, $0) } }
            for (k, v) in verdicts {
                var t = tally[k] ?? (0, 0, 0)
                switch v {
                case .pending: t.pending += 1
                case .measured(_, _, _, let holds, _): if holds { t.holds += 1 } else { t.fails += 1 }
                }
                tally[k] = t
            }
            if verdicts.allSatisfy({ $0.1 == .pending }) {
                s += "  - pending under every attack\n"
                continue
            }
            for (k, v) in verdicts { s += "  - \(Self.attackName(k)): \(Self.verdictText(v, claim))\n" }
        }
        if !used.isEmpty {
            s += "\nIn sum: " + attacks.compactMap { k in
                tally[k].map { "under \(Self.attackName(k)) \($0.holds) of \($0.holds + $0.fails + $0.pending) claims hold, \($0.fails) do not"
                    + ($0.pending > 0 ? ", \($0.pending) pending" : "") }
            }.joined(separator: "; ") + ". FGSM is the paper's attack; PGD-BPDA (40 steps through the quantizer's"
            s += " straight-through gradient) and edge (which knows the quantizer's bins) are the honest ones: a claim"
            s += " that holds under FGSM only is a claim about FGSM, not about robustness.\n"
        }
        s += edgeNote
        s += certifiedSection()
        s += "\n## The largest difference from the paper in each table (clean or under its attack)\n\n"
        for t in plan.paperTables {
            // Every number the paper prints in the table: the clean column and the budgets.
            var best: (cell: PlannedCell, column: String, paper: Double, ours: Double)?
            func consider(_ c: PlannedCell, _ column: String, _ paper: Double?, _ ours: ReportValue) {
                guard let paper, case .percent(let v) = ours, abs(v - paper) > abs((best?.ours ?? 0) - (best?.paper ?? 0)) || best == nil else { return }
                best = (c, column, paper, v)
            }
            for c in t.cells {
                consider(c, "clean", c.cell.paper.clean, cleanValue(c))
                for b in t.budgets { consider(c, "ε " + ReportEscaping.markdown(b), paperValue(c, b), value(c, c.cell.paper.attack, b)) }
            }
            s += "- \(ReportEscaping.markdown(t.name)): "
            if let b = best {
                s += "\(Self.rowName(b.cell)) at \(b.column), " + String(format: "paper %.1f, ours %.1f (%+.1f points)", b.paper, b.ours, b.ours - b.paper) + "\n"
            } else {
                let printed = t.cells.contains { c in c.cell.paper.clean != nil || t.budgets.contains { paperValue(c, $0) != nil } }
                s += printed ? "pending\n" : "the paper prints no numbers (a figure)\n"
            }
        }
        s += standInSection()
        s += imagesSection()
        return s
    }

    /// The certified figure: which cells ask for it, or that none does.
    func certifiedSection() -> String {
        let certified = plan.cells.filter(\.cell.certify)
        var s = "\n## Certified figures\n\n"
        if certified.isEmpty {
            return s + "No cell of this grid asks for the certified figure (`\"certify\": true` in the grid runs `verify` on each"
                + " attack cell's images; docs/VERIFY.md): only attacks bound these numbers from above.\n"
        }
        s += "Cells with a certified row in [results.md](results.md): " + certified.map { "\(ReportEscaping.markdown($0.cell.table)) \(Self.rowName($0))" }.joined(separator: ", ")
        return s + ". A certified figure is a floor under every attack; an attack above it is expected, below it is a bug.\n"
    }

    /// The cells the grid attacks on fewer than all test images (its `"images"`), by count and table; nothing
    /// when every cell scores the whole test set. A smoke run's `--limit` is in the header, not here.
    func imagesSection() -> String {
        var groups: [(Int, [String])] = []
        for c in plan.cells {
            guard let n = c.cell.images else { continue }
            let table = ReportEscaping.markdown(c.cell.table)
            if let i = groups.firstIndex(where: { $0.0 == n }) {
                if !groups[i].1.contains(table) { groups[i].1.append(table) }
            } else { groups.append((n, [table])) }
        }
        guard !groups.isEmpty else { return "" }
        var s = "\n## Test images\n\nEvery cell scores the whole test set except these, which the grid declares (`\"images\"`) to attack on "
            + "the first N test images only; their claims' sampling noise is computed from the images scored:\n\n"
        for (n, tables) in groups { s += "- first \(n) test images: " + tables.joined(separator: ", ") + "\n" }
        return s
    }

    /// Which cells run on a stand-in network or data set, by table.
    func standInSection() -> String {
        var s = "\n## Stand-ins\n\n"
        let standIns = plan.cells.filter(\.standsIn)
        if standIns.isEmpty { return s + "Every cell runs the paper's network on the paper's data set.\n" }
        var groups: [(String, [PlannedCell])] = []
        for c in standIns {
            let paperData = (c.cell.paperDataset ?? c.cell.training.dataset).rawValue
            let key = "\(c.net) on \(c.dataset.rawValue) stands in for the paper's \(c.cell.paperNet) on \(paperData)"
            if let i = groups.firstIndex(where: { $0.0 == key }) { groups[i].1.append(c) } else { groups.append((key, [c])) }
        }
        for (key, cells) in groups {
            var tables: [String] = []
            for c in cells where !tables.contains(c.cell.table) { tables.append(c.cell.table) }
            s += "- \(ReportEscaping.markdown(key)) (\(cells.count) cell\(cells.count == 1 ? "" : "s"), marked `*`): "
                + tables.map { ReportEscaping.markdown($0) }.joined(separator: ", ") + "\n"
        }
        return s
    }
}
