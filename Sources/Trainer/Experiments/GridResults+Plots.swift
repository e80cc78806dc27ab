import Foundation

extension GridResults {
    /// Row colours of the plots, in row order (repeating past eight rows).
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// The accuracy-against-ε plot of one paper table (`plots/STEM.svg`), written here without a plotting
    /// library: a panel per attack (the paper's first), a solid line per row through ours (ε 0 is the clean
    /// accuracy), and in the paper's attack's panel the paper's numbers as hollow points on a dashed line.
    /// A job that has not finished is left out of its line (the caption counts them), never drawn as a number.
    public func svg(_ t: PaperTable) -> String {
        let panelW = 300.0, panelH = 270.0, left = 48.0, top = 48.0, plotW = 230.0, plotH = 170.0
        let legendW = 190.0
        let width = Double(max(t.attacks.count, 1)) * panelW + legendW
        let height = max(panelH + 30, 60 + Double(t.cells.count + 2) * 16)
        // Budget columns as numbers: a row's budget is found by its text, its value is the grid's.
        var values: [String: Double] = [:]
        for c in t.cells { for e in c.cell.epsilons { values[e.text] = Double(e.value) } }
        let maxEps = max(values.values.max() ?? 0.1, 1e-6)
        let f = { (x: Double) in String(format: "%.1f", x) }
        var pending = 0
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"10\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(ReportEscaping.xml(t.name)): accuracy against ε</text>\n"
        for (p, attack) in t.attacks.enumerated() {
            let ox = Double(p) * panelW
            func px(_ eps: Double) -> Double { ox + left + eps / maxEps * plotW }
            func py(_ percent: Double) -> Double { top + (1 - min(max(percent, 0), 100) / 100) * plotH }
            s += "<text x=\"\(f(ox + left + plotW / 2))\" y=\"\(f(top - 8))\" text-anchor=\"middle\" font-weight=\"bold\">\(ReportEscaping.xml(Self.attackName(attack)))</text>\n"
            s += "<rect x=\"\(f(ox + left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#888\"/>\n"
            for tick in stride(from: 0.0, through: 100.0, by: 25.0) {
                s += "<line x1=\"\(f(px(0)))\" x2=\"\(f(px(maxEps)))\" y1=\"\(f(py(tick)))\" y2=\"\(f(py(tick)))\" stroke=\"#eee\"/>\n"
                s += "<text x=\"\(f(ox + left - 4))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(Int(tick))%</text>\n"
            }
            for (text, v) in [("0", 0.0)] + t.budgets.compactMap({ b in values[b].map { (b, $0) } }) {
                let x = px(v), y = top + plotH + 12
                s += "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"end\" font-size=\"9\" transform=\"rotate(-40 \(f(x)) \(f(y)))\">\(ReportEscaping.xml(text))</text>\n"
            }
            s += "<text x=\"\(f(ox + left + plotW / 2))\" y=\"\(f(top + plotH + 48))\" text-anchor=\"middle\">ε</text>\n"
            for (r, c) in t.cells.enumerated() {
                let color = Self.palette[r % Self.palette.count]
                var ours: [(Double, Double)] = []
                if case .percent(let v) = cleanValue(c) { ours.append((0, v)) }
                for b in t.budgets {
                    guard let eps = values[b] else { continue }
                    switch value(c, attack, b) {
                    case .percent(let v): ours.append((eps, v))
                    case .pending: pending += 1
                    case .none: break
                    }
                }
                s += Self.line(ours, color: color, dashed: false, px: px, py: py, label: "\(c.cell.row) \(Self.attackName(attack))")
                guard attack == c.cell.paper.attack else { continue }
                var paper: [(Double, Double)] = c.cell.paper.clean.map { [(0, $0)] } ?? []
                for b in t.budgets { if let v = paperValue(c, b), let eps = values[b] { paper.append((eps, v)) } }
                s += Self.line(paper, color: color, dashed: true, px: px, py: py, label: "\(c.cell.row) paper")
            }
        }
        let lx = Double(max(t.attacks.count, 1)) * panelW + 4
        for (r, c) in t.cells.enumerated() {
            let y = top + Double(r) * 16
            s += "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 20))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(Self.palette[r % Self.palette.count])\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(lx + 26))\" y=\"\(f(y + 4))\">\(ReportEscaping.xml(c.cell.row + (c.standsIn ? " *" : "")))</text>\n"
        }
        let ny = top + Double(t.cells.count) * 16 + 8
        s += "<text x=\"\(f(lx))\" y=\"\(f(ny))\" font-size=\"9\">solid: ours; dashed, hollow: the paper</text>\n"
        if t.cells.contains(where: \.standsIn) {
            s += "<text x=\"\(f(lx))\" y=\"\(f(ny + 12))\" font-size=\"9\">*: stands in for the paper's net or data</text>\n"
        }
        if pending > 0 {
            s += "<text x=\"10\" y=\"\(f(height - 8))\" font-size=\"10\" fill=\"#b00\">\(pending) point\(pending == 1 ? "" : "s") pending (jobs not finished): left out</text>\n"
        }
        return s + "</svg>\n"
    }

    /// A polyline through `points` (ε, percent) with a point marker each, titled for a hover; nothing for no points.
    static func line(_ points: [(Double, Double)], color: String, dashed: Bool, px: (Double) -> Double, py: (Double) -> Double, label: String) -> String {
        guard !points.isEmpty else { return "" }
        let points = points.sorted { $0.0 < $1.0 }  // budgets in the grid's order need not ascend (0.1, 16/255)
        let f = { (x: Double) in String(format: "%.1f", x) }
        var s = ""
        if points.count > 1 {
            let path = points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(dashed ? "1.2" : "1.8")\""
                + (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>\n"
        }
        for p in points {
            let fill = dashed ? "white" : color
            s += "<circle cx=\"\(f(px(p.0)))\" cy=\"\(f(py(p.1)))\" r=\"2.5\" fill=\"\(fill)\" stroke=\"\(color)\">"
                + "<title>\(ReportEscaping.xml(label)) ε \(String(format: "%.4g", p.0)): \(f(p.1))%</title></circle>\n"
        }
        return s
    }
}
