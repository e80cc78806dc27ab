import Datasets
import Foundation

// The reports of a robustness sweep (RobustnessSweep.swift): Markdown, CSV, JSON and an SVG plot of
// accuracy against eps per model and attack (as the paper's Figs. 4-5), the per-example worst case over
// all attacks for each (model, eps), and sanity flags after Carlini et al. 2019, "On Evaluating
// Adversarial Robustness" (Sec. 4-5):
//   - an iterative attack (pgd, edge) must not leave a higher accuracy than a single-step one (fgsm, rfgsm);
//   - the strongest white-box attack must not leave a higher accuracy than a black-box one (transfer, square);
//   - on a discretized-input model (fewer than 8 input bits) the edge attack must not leave a higher
//     accuracy than a gradient attack (fgsm, rfgsm, pgd): it is the one that knows the bin edges;
//   - accuracy must fall near zero (at most 10%) at a large eps (0.5 on the [0, 1] scale, MNIST's; the flag
//     says so when no such eps was run);
//   - an attack that met mostly (over 50%) zero gradients is masked, its accuracy no robustness claim;
//   - the runtime must agree with the trainer on every stored image.
// Comparisons are exact (no tolerance): any inversion is worth a look, the flag states both numbers.

/// A sanity flag raised by a sweep.
public struct SweepFlag: Codable, Equatable, Sendable {
    /// Short kind: `iterative-above-single-step`, `white-box-above-black-box`, `gradient-beats-edge`,
    /// `not-near-zero-at-large-eps`, `large-eps-not-run`, `masked-gradients`, `runtime-disagrees`.
    public var kind: String
    /// The model's name.
    public var model: String
    /// The eps concerned, when one is.
    public var eps: Double?
    /// What was seen, with the numbers.
    public var message: String
}

/// The per-example worst case over all attacks run for one (model, eps).
public struct WorstCase: Codable, Equatable, Sendable {
    /// The model's name.
    public var model: String
    /// The budget.
    public var eps: Double
    /// The attacks combined.
    public var attacks: [String]
    /// Images right under every attack.
    public var robust: Int
    /// Images attacked.
    public var images: Int
    /// robust / images.
    public var robustAccuracy: Double
}

/// The cells of a sweep and what follows from them.
public struct SweepReport: Sendable {
    /// The sweep's name (the output prefix's file name).
    public var name: String
    /// Every cell, in run order.
    public var cells: [SweepCell]
    /// Per (model, eps) worst cases.
    public var worstCases: [WorstCase]
    /// Sanity flags.
    public var flags: [SweepFlag]

    /// Accuracy must fall to at most this at `largeEpsilon`.
    public static let nearZero = 0.1
    /// The large eps of the near-zero check (MNIST's scale).
    public static let largeEpsilon = 0.5
    /// Above this zero-gradient fraction an attack is called masked.
    public static let maskedFraction = 0.5

    /// The report of `cells`, with worst cases and flags computed.
    public init(name: String, cells: [SweepCell]) {
        self.name = name
        self.cells = cells
        worstCases = SweepReport.worstCases(cells)
        flags = SweepReport.flags(cells) + SweepReport.certifiedFlags(cells)
    }

    /// Model names in first-seen order.
    var models: [String] {
        var seen = Set<String>()
        return cells.map(\.modelName).filter { seen.insert($0).inserted }
    }

    /// Per (model, eps): images right under every attack.
    public static func worstCases(_ cells: [SweepCell]) -> [WorstCase] {
        var out: [WorstCase] = []
        var seen = Set<String>()
        for cell in cells where seen.insert("\(cell.modelName)|\(cell.eps)").inserted {
            let group = cells.filter { $0.modelName == cell.modelName && $0.eps == cell.eps && $0.images == cell.images }
            var all = [Bool](repeating: true, count: cell.images)
            for c in group {
                for (i, r) in c.robustFlags.enumerated() where !r { all[i] = false }
            }
            let robust = all.filter { $0 }.count
            out.append(WorstCase(model: cell.modelName, eps: cell.eps, attacks: group.map(\.attack), robust: robust,
                                 images: cell.images, robustAccuracy: Double(robust) / Double(max(cell.images, 1))))
        }
        return out
    }

    /// The sanity flags of `cells` (see the top of this file).
    public static func flags(_ cells: [SweepCell]) -> [SweepFlag] {
        var flags: [SweepFlag] = []
        func pct(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
        var groups: [(String, Double)] = []
        for c in cells where !groups.contains(where: { $0 == (c.modelName, c.eps) }) { groups.append((c.modelName, c.eps)) }
        for (model, eps) in groups {
            let g = cells.filter { $0.modelName == model && $0.eps == eps }
            let singleStep = g.filter { ["fgsm", "rfgsm"].contains($0.attack) }
            let iterative = g.filter { ["pgd", "edge"].contains($0.attack) }
            for it in iterative {
                for s in singleStep where it.robustAccuracy > s.robustAccuracy {
                    flags.append(SweepFlag(kind: "iterative-above-single-step", model: model, eps: eps,
                                           message: "\(it.attack) leaves \(pct(it.robustAccuracy)), above single-step \(s.attack)'s \(pct(s.robustAccuracy))"))
                }
            }
            let whiteBox = g.filter { ["fgsm", "rfgsm", "pgd", "edge"].contains($0.attack) && !$0.settings.contains("grad=true") }
            if let strongest = whiteBox.min(by: { $0.robustAccuracy < $1.robustAccuracy }) {
                for b in g where ["transfer", "square"].contains(b.attack) && strongest.robustAccuracy > b.robustAccuracy {
                    flags.append(SweepFlag(kind: "white-box-above-black-box", model: model, eps: eps,
                                           message: "the strongest white-box attack (\(strongest.attack)) leaves \(pct(strongest.robustAccuracy)), above \(b.attack)'s \(pct(b.robustAccuracy))"))
                }
            }
            if let bits = g.first?.inputBits, bits < 8, let edge = g.first(where: { $0.attack == "edge" }) {
                for c in g where ["fgsm", "rfgsm", "pgd"].contains(c.attack) && edge.robustAccuracy > c.robustAccuracy {
                    flags.append(SweepFlag(kind: "gradient-beats-edge", model: model, eps: eps,
                                           message: "on \(bits)-bit input the edge attack leaves \(pct(edge.robustAccuracy)), above \(c.attack)'s \(pct(c.robustAccuracy))"))
                }
            }
            for c in g where c.zeroGradientFraction > maskedFraction {
                flags.append(SweepFlag(kind: "masked-gradients", model: model, eps: eps,
                                       message: "\(c.attack) (\(c.settings)) met \(pct(c.zeroGradientFraction)) zero gradients: its \(pct(c.robustAccuracy)) is no robustness claim"))
            }
            for c in g {
                if let d = c.runtimeDisagreements, d > 0 {
                    flags.append(SweepFlag(kind: "runtime-disagrees", model: model, eps: eps,
                                           message: "\(c.attack): the runtime disagrees with the trainer on \(d) of \(c.images) images (runtime \(c.runtimeAccuracy.map(pct) ?? "?"), trainer \(pct(c.robustAccuracy)))"))
                }
            }
        }
        for model in Array(Set(cells.map(\.modelName))).sorted() {
            let m = cells.filter { $0.modelName == model }
            let large = m.filter { $0.eps >= largeEpsilon - 1e-6 }
            if large.isEmpty {
                let top = m.map(\.eps).max() ?? 0
                flags.append(SweepFlag(kind: "large-eps-not-run", model: model, eps: nil,
                                       message: "no eps >= \(largeEpsilon) was run (largest \(top)): the check that accuracy falls near zero was not made"))
            } else {
                for eps in Set(large.map(\.eps)).sorted() {
                    let best = large.filter { $0.eps == eps && !$0.settings.contains("grad=true") }.map(\.robustAccuracy).min() ?? 1
                    if best > nearZero {
                        flags.append(SweepFlag(kind: "not-near-zero-at-large-eps", model: model, eps: eps,
                                               message: "at eps \(eps) the strongest attack still leaves \(pct(best)) (expected at most \(pct(nearZero)))"))
                    }
                }
            }
        }
        return flags
    }

    // MARK: Writers

    /// Writes PREFIX.md, PREFIX.csv, PREFIX.json and PREFIX.svg atomically.
    public func write(prefix: String) throws(TrainerError) {
        for (ext, text) in [("md", markdown()), ("csv", csv()), ("json", json()), ("svg", svg())] {
            do { try AtomicFile.write(Array(text.utf8), to: prefix + "." + ext) } catch { throw .dataset(error) }
        }
    }

    static func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

    /// The Markdown report.
    public func markdown() -> String {
        let e = ReportEscaping.markdown
        var s = "# Robustness sweep \(e(name))\n\n"
        let images = Set(cells.map(\.images)).sorted().map(String.init).joined(separator: ", ")
        s += "Test images per cell: \(images). eps is on the [0, 1] pixel scale; stored images stay within floor(255 eps) "
        s += "pixel units of the originals, and every accuracy is measured on them over all test images. "
        s += "Success rate: clean-correct images the attack turned wrong, over the clean-correct images (n/N). "
        s += "Perturbations in pixel units (of 255): mean over images of the per-image maximum, and the maximum.\n\n"
        s += "## Results\n\n"
        s += "| model | attack | settings | eps | clean | robust | success (n/N) | mean pert | max pert | zero grad | s | runtime | certified | sha256 |\n"
        s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for c in cells {
            let runtime: String
            if let a = c.runtimeAccuracy {
                runtime = "\(Self.f(a * 100))%" + (c.runtimeDisagreements.map { $0 == 0 ? " (agrees)" : " (\($0) differ)" } ?? "")
            } else { runtime = e(c.runtimeNote ?? "-") }
            s += "| \(e(c.modelName)) | \(e(c.attack)) | \(e(c.settings)) | \(c.eps) | \(Self.f(c.cleanAccuracy * 100))% | "
            s += "\(Self.f(c.robustAccuracy * 100))% | \(Self.f(c.successRate * 100))% (\(c.successes)/\(c.cleanCorrect)) | "
            s += "\(Self.f(c.meanPerturbation)) | \(c.maxPerturbation) | \(Self.f(c.zeroGradientFraction * 100, 1))% | "
            s += "\(Self.f(c.seconds, 1)) | \(runtime) | \(e(Self.certifiedText(c))) | \(e(String(c.sha256.prefix(12)))) |\n"
        }
        s += "\n## Worst case over all attacks, per example\n\n| model | eps | attacks | robust |\n|---|---|---|---|\n"
        for w in worstCases {
            s += "| \(e(w.model)) | \(w.eps) | \(e(w.attacks.joined(separator: ", "))) | \(Self.f(w.robustAccuracy * 100))% (\(w.robust)/\(w.images)) |\n"
        }
        s += certifiedMarkdown()
        s += "\n## Sanity flags (Carlini et al. 2019)\n\n"
        if flags.isEmpty { s += "None raised.\n" }
        for fl in flags {
            s += "- **\(e(fl.kind))** \(e(fl.model))\(fl.eps.map { " eps \($0)" } ?? ""): \(e(fl.message))\n"
        }
        s += "\n## Models\n\n| model | summary | checkpoint | sha256 |\n|---|---|---|---|\n"
        var seen = Set<String>()
        for c in cells where seen.insert(c.modelName).inserted {
            s += "| \(e(c.modelName)) | \(e(c.modelSummary)) | \(e(c.model)) | \(e(c.sha256)) |\n"
        }
        s += "\n![accuracy against eps](\(ReportEscaping.markdownLink(name + ".svg")))\n"
        return s
    }

    /// The CSV report: one row per cell.
    public func csv() -> String {
        var s = "model,model_summary,precision,input_bits,attack,settings,eps,pixel_budget,images,clean_accuracy,robust_accuracy,"
        s += "successes,clean_correct,attack_success_rate,mean_perturbation,max_perturbation,zero_gradient_fraction,seconds,"
        s += "runtime_accuracy,runtime_disagreements,runtime_note,sha256,certified_robust,certified_unknown,certified_note\n"
        for c in cells {
            // Text fields (names, notes) escaped and neutralized against formula injection (csvText);
            // numbers are plain (no comma, quote or line break can occur in them).
            let t = ReportEscaping.csvText
            let fields: [String] = [
                t(c.modelName), t(c.modelSummary), t(c.precision), "\(c.inputBits)", t(c.attack), t(c.settings), "\(c.eps)", "\(c.pixelBudget)",
                "\(c.images)", "\(c.cleanAccuracy)", "\(c.robustAccuracy)", "\(c.successes)", "\(c.cleanCorrect)", "\(c.successRate)",
                "\(c.meanPerturbation)", "\(c.maxPerturbation)", "\(c.zeroGradientFraction)", Self.f(c.seconds, 3),
                c.runtimeAccuracy.map { "\($0)" } ?? "", c.runtimeDisagreements.map { "\($0)" } ?? "", t(c.runtimeNote ?? ""), t(c.sha256),
                c.certifiedRobust.map { "\($0)" } ?? "", c.certifiedUnknown.map { "\($0)" } ?? "", t(c.certifiedNote ?? ""),
            ]
            s += fields.joined(separator: ",") + "\n"
        }
        return s
    }

    /// The JSON report: one object (cells without their per-image masks, worst cases, flags), one line.
    public func json() -> String {
        let object = summaryObject(includeCells: true)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The report as a JSON-ready dictionary (snake_case keys).
    public func summaryObject(includeCells: Bool) -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        func plain<T: Encodable>(_ v: T) -> Any {
            (try? JSONSerialization.jsonObject(with: encoder.encode(v))) ?? NSNull()
        }
        var object: [String: Any] = [
            "name": name, "cells_count": cells.count, "flags": plain(flags), "worst_case": plain(worstCases),
            "certified": plain(Self.certifiedGaps(cells)),
        ]
        if includeCells {
            object["cells"] = cells.map { c -> Any in
                var d = plain(c) as? [String: Any] ?? [:]
                d["robust_mask"] = nil
                return d
            }
        }
        return object
    }

    /// The SVG plot: one panel per model, accuracy (%) against eps, a line per attack (eps 0 is the clean
    /// accuracy) and the per-example worst case dashed.
    public func svg() -> String {
        let names = models
        let panelW = 320.0, panelH = 240.0, left = 50.0, top = 30.0, plotW = 250.0, plotH = 170.0
        let columns = min(names.count, 2)
        let rowsCount = (names.count + 1) / 2
        let width = Double(max(columns, 1)) * panelW + 130, height = Double(max(rowsCount, 1)) * panelH + 20
        let attacks = cells.map(\.attack).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
        func color(_ a: String) -> String { palette[(attacks.firstIndex(of: a) ?? 0) % palette.count] }
        let maxEps = max(cells.map(\.eps).max() ?? 0.1, 1e-6)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (m, model) in names.enumerated() {
            let ox = Double(m % 2) * panelW, oy = Double(m / 2) * panelH
            func px(_ eps: Double) -> Double { ox + left + eps / maxEps * plotW }
            func py(_ acc: Double) -> Double { oy + top + (1 - acc) * plotH }
            s += "<text x=\"\(Self.f(ox + left + plotW / 2, 1))\" y=\"\(Self.f(oy + 18, 1))\" text-anchor=\"middle\" font-weight=\"bold\">\(ReportEscaping.xml(model))</text>\n"
            s += "<rect x=\"\(Self.f(ox + left, 1))\" y=\"\(Self.f(oy + top, 1))\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#888\"/>\n"
            for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
                s += "<line x1=\"\(Self.f(px(0), 1))\" x2=\"\(Self.f(px(maxEps), 1))\" y1=\"\(Self.f(py(tick), 1))\" y2=\"\(Self.f(py(tick), 1))\" stroke=\"#eee\"/>\n"
                s += "<text x=\"\(Self.f(ox + left - 4, 1))\" y=\"\(Self.f(py(tick) + 4, 1))\" text-anchor=\"end\">\(Int(tick * 100))%</text>\n"
            }
            let epsTicks = Array(Set(cells.map(\.eps) + [0])).sorted()
            for e in epsTicks {
                s += "<text x=\"\(Self.f(px(e), 1))\" y=\"\(Self.f(oy + top + plotH + 14, 1))\" text-anchor=\"middle\">\(e)</text>\n"
            }
            s += "<text x=\"\(Self.f(ox + left + plotW / 2, 1))\" y=\"\(Self.f(oy + top + plotH + 28, 1))\" text-anchor=\"middle\">eps</text>\n"
            let ly = oy + top + plotH / 2
            s += "<text x=\"\(Self.f(ox + 12, 1))\" y=\"\(Self.f(ly, 1))\" text-anchor=\"middle\" transform=\"rotate(-90 \(Self.f(ox + 12, 1)) \(Self.f(ly, 1)))\">accuracy</text>\n"
            let mc = cells.filter { $0.modelName == model }
            let clean = mc.first?.cleanAccuracy ?? 0
            for a in attacks {
                let points = [(0.0, clean)] + mc.filter { $0.attack == a }.sorted { $0.eps < $1.eps }.map { ($0.eps, $0.robustAccuracy) }
                guard points.count > 1 else { continue }
                let path = points.map { "\(Self.f(px($0.0), 1)),\(Self.f(py($0.1), 1))" }.joined(separator: " ")
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color(a))\" stroke-width=\"1.8\"/>\n"
                for p in points.dropFirst() {
                    s += "<circle cx=\"\(Self.f(px(p.0), 1))\" cy=\"\(Self.f(py(p.1), 1))\" r=\"2.5\" fill=\"\(color(a))\"><title>\(ReportEscaping.xml(a)) eps \(p.0): \(Self.f(p.1 * 100))%</title></circle>\n"
                }
            }
            let worst = [(0.0, clean)] + worstCases.filter { $0.model == model }.sorted { $0.eps < $1.eps }.map { ($0.eps, $0.robustAccuracy) }
            if worst.count > 1 {
                let path = worst.map { "\(Self.f(px($0.0), 1)),\(Self.f(py($0.1), 1))" }.joined(separator: " ")
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"black\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>\n"
            }
        }
        let lx = Double(max(columns, 1)) * panelW + 10
        for (i, a) in (attacks + ["worst case"]).enumerated() {
            let y = 40.0 + Double(i) * 18
            let stroke = a == "worst case" ? "black\" stroke-dasharray=\"4 3" : color(a)
            s += "<line x1=\"\(lx)\" x2=\"\(lx + 22)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"\(stroke)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(lx + 28)\" y=\"\(y + 4)\">\(ReportEscaping.xml(a))</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}
