import Foundation

// The certified column's rules in the reports (RobustnessSweep+Certified.swift runs verify): the gap
// between the strongest attack and the certified accuracy per model and eps, and the flag for an attack
// that leaves less than the certified accuracy, which can only be a bug (in the attack's evaluation, the
// converter, the runtime or the verifier): an attack's images are real images in the ball.

/// Per (model, eps) where verify ran: the certified figure beside the strongest attack.
public struct CertifiedGap: Codable, Equatable, Sendable {
    public var model: String
    public var eps: Double
    public var images: Int
    /// Proved robust, and unknown at verify's time limit.
    public var certifiedRobust: Int
    public var certifiedUnknown: Int
    public var certifiedAccuracy: Double
    /// The attack that leaves the fewest images right, and that fraction.
    public var strongestAttack: String
    public var strongestRobustAccuracy: Double
    /// strongest − certified, in percentage points (0 when the attack finds every image that is not robust).
    public var gapPoints: Double
}

extension SweepReport {
    /// The gaps, in the cells' first-seen (model, eps) order.
    public static func certifiedGaps(_ cells: [SweepCell]) -> [CertifiedGap] {
        var out: [CertifiedGap] = []
        for c in cells where c.certifiedRobust != nil && !out.contains(where: { $0.model == c.modelName && $0.eps == c.eps }) {
            let group = cells.filter { $0.modelName == c.modelName && $0.eps == c.eps && $0.images == c.images && $0.certifiedRobust != nil }
            guard let strongest = group.min(by: { $0.robustAccuracy < $1.robustAccuracy }),
                  let robust = c.certifiedRobust, let certified = c.certifiedAccuracy else { continue }
            out.append(CertifiedGap(model: c.modelName, eps: c.eps, images: c.images, certifiedRobust: robust,
                                    certifiedUnknown: c.certifiedUnknown ?? 0, certifiedAccuracy: certified,
                                    strongestAttack: strongest.attack, strongestRobustAccuracy: strongest.robustAccuracy,
                                    gapPoints: (strongest.robustAccuracy - certified) * 100))
        }
        return out
    }

    /// One flag per cell whose attack leaves fewer images right than verify proved robust.
    static func certifiedFlags(_ cells: [SweepCell]) -> [SweepFlag] {
        cells.compactMap { c in
            guard let proved = c.certifiedRobust else { return nil }
            let right = Int((c.robustAccuracy * Double(c.images)).rounded())
            guard right < proved else { return nil }
            return SweepFlag(kind: "attack-below-certified", model: c.modelName, eps: c.eps,
                             message: "bug: \(c.attack) leaves \(right) of \(c.images) images right, fewer than the \(proved) verify proved robust")
        }
    }

    /// The certified column of a cell: the accuracy (and unknowns), or n/a.
    static func certifiedText(_ c: SweepCell) -> String {
        guard let a = c.certifiedAccuracy else { return c.certifiedNote == CertifiedFigure.notRunNote ? "not run" : "n/a" }
        return "\(f(a * 100))%" + ((c.certifiedUnknown ?? 0) > 0 ? " (\(c.certifiedUnknown!) unknown)" : "")
    }

    /// The Markdown section: certified beside the strongest attack, per model and eps.
    func certifiedMarkdown() -> String {
        let e = ReportEscaping.markdown
        var s = "\n## Certified beside attacked\n\n"
        let gaps = Self.certifiedGaps(cells)
        if gaps.isEmpty && cells.allSatisfy({ $0.certifiedNote == CertifiedFigure.notRunNote }) {
            return s + "verify was not run (`train sweep --certify` runs it).\n"
        }
        if gaps.isEmpty {
            return s + "verify did not run (n/a in every cell: no .bsm beside a checkpoint, no verify executable, or a model it refuses).\n"
        }
        s += "Certified: test images `verify` proved robust on the .bsm (unknown: its time limit came first; never counted). "
        s += "Gap: the strongest attack's robust accuracy minus the certified accuracy, in points.\n\n"
        s += "| model | eps | certified | unknown | strongest attack | robust | gap (points) |\n|---|---|---|---|---|---|---|\n"
        for g in gaps {
            s += "| \(e(g.model)) | \(g.eps) | \(Self.f(g.certifiedAccuracy * 100))% (\(g.certifiedRobust)/\(g.images)) | \(g.certifiedUnknown) | "
            s += "\(e(g.strongestAttack)) | \(Self.f(g.strongestRobustAccuracy * 100))% | \(Self.f(g.gapPoints)) |\n"
        }
        return s
    }
}
