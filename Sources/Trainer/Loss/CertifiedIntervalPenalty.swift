import Foundation
import ModelFormat

// A training term aimed at what `verify` needs at a given ε (issue 16, item 3): few first-layer units that the
// ε-ball leaves OPEN (able to take either sign), because every open first-layer unit widens the bounds of every
// later layer and costs the search a branch. It follows the interval bound propagation training of Gowal et al.
// 2018 ("On the effectiveness of interval bound propagation for training verifiably robust models", IBP) and
// the cardinality-bound decay of Jia & Rinard 2020 ("Efficient exact verification of binarized neural
// networks", NeurIPS, EEV), which penalise how far a unit's reachable interval crosses its threshold.
//
// With δ-bit input the ball is exact per image (ModelFormat's `PixelBudget`, the rule of the verifier and the
// attacks): pixel i reaches codes 2q + 1 from c_i − d⁻_i to c_i + d⁺_i, so a binary first-layer unit with
// weights s_oi = ±1 has the exact accumulator range
//     a_o − l_o ... a_o + u_o,  u_o = Σ_i (s_oi > 0 ? d⁺_i : d⁻_i) = (T + Σ_i s_oi D_i) / 2,
//                              l_o = Σ_i (s_oi > 0 ? d⁻_i : d⁺_i) = (T − Σ_i s_oi D_i) / 2,
// with T = Σ_i (d⁺_i + d⁻_i) and D_i = d⁺_i − d⁻_i (one matrix product per batch). In the BatchNorm's
// normalised units, with v = x̂ + β/γ = (y − t)/σ the distance of the unit's input y = scale · a to its folded
// threshold t (as in StableUnitPenalty.swift), the unit is open iff the interval [v − l', v + u'] holds 0,
// u' = scale · u / σ and l' = scale · l / σ, that is iff the margin
//     m = min(v + u', l' − v)
// is positive (m ≤ 0: the sign is fixed over the whole ball). The term is W · mean over the batch and units
// of softplus(m) = log(1 + e^m): about m for an open unit, about 0 for a stable one; and the gradient flows
// into v (through x̂ and BatchNorm's backward pass, β and γ), into σ (u' and l' shrink as σ grows; the exact
// derivative dσ/dy = x̂ / N is used) and, straight through the sign, into the first layer's weights by
// du/ds_oi = D_i / 2 = −dl/ds_oi.
//
// Deeper layers (`train fit --certify-layers N`, N > 1): as IBP does, the interval is carried on. A hidden layer's
// input i is a sign x_i = ±1 (times dropout's 1/(1 − p) in training, or 0 where dropped); where the previous layer's
// unit is open (its margin m > 0) the input can take either sign, so it moves by −2·x_i (d⁺ = 2|x_i| if x_i < 0,
// d⁻ = 2|x_i| if x_i > 0) and the same formula holds with T = Σ_open 2|x_i| and D_i = −2·x_i·open_i: with ±1 weights
// the unit's range is the sum of its fixed inputs ± the count of its open ones, the bound `verify`'s stage (b)
// computes (BoundPropagation.swift). This is the open-input count of EEV's cardinality bound.
//
// A deeper layer's term is bounded, W · mean sigmoid(m) (a soft count of its open units, the radius of the next
// layer's interval) rather than softplus(m): early in training the previous layer leaves hundreds of units open, so
// nearly every deeper unit is open by a margin of many σ, and softplus's constant pull on all of them drove the
// units to constants (measured: FCN2, W 1 on four layers, 42.6% test accuracy after one epoch); sigmoid's gradient
// acts on the units near their edge and fades on the hopeless ones.
//
// Deviations: EEV bounds the cardinality of the whole ball, IBP propagates intervals through every layer with
// gradients through each bound; here the first layer's interval is exact, a deeper layer's counts the previous
// layer's open units as a hard mask (no gradient flows through which units are open: each layer's own term
// moves its units), the term measures in the batch's σ (not the running statistics the model file folds), and
// uses softplus rather than a hinge so stable units near the edge still feel a small push. Binary or ternary layers
// on a fully connected net only (XNOR's α would add a path). Ternary weights (`--weight-sparsity`): a zero weight
// reads no slack, so T is per unit, T_o = Σ_i |s_oi| T_i, and the term's gradient gains sign(s_oi)·dT_o (`interval`,
// `weightGradient`), which drives weights to zero as EEV's sparsity does.

/// The certified-interval penalty on a binary network's first layer under an ε-ball.
public enum CertifiedIntervalPenalty {
    /// Per image of a batch, the codes its pixels can move by inside the ball: `total[b]` = Σ_i (d⁺ + d⁻) and
    /// `diff` = D = d⁺ − d⁻, `[rows, pixels]` (code units).
    public struct Slack {
        public let total: [Float]
        public let diff: Matrix
        /// T_i = d⁺_i + d⁻_i per element, `[rows, inputs]`: what a ternary layer sums over its non-zero weights only.
        public let reach: Matrix
    }

    /// The first layer's reachable ranges for one batch in its BatchNorm's input units, per element
    /// `[rows * units]`: y − down ... y + up; and the term's weight.
    public struct Interval {
        public let up: [Float]
        public let down: [Float]
        public let weight: Float
        /// The bounded form (deeper layers): W · mean sigmoid(m), a soft count of open units, instead of softplus(m).
        public var bounded = false

        public init(up: [Float], down: [Float], weight: Float, bounded: Bool = false) {
            (self.up, self.down, self.weight, self.bounded) = (up, down, weight, bounded)
        }
    }

    /// The slack of a batch `x` of pixels on the [0, 1] scale (rounded to 8-bit pixels as the input quantizer
    /// rounds them), for a δ = `bits` quantizer and a budget of `budget` pixel units.
    public static func slack(_ x: Matrix, bits: Int, budget: Int) -> Slack {
        var diff = Matrix(rows: x.rows, cols: x.cols), reach = diff
        var total = [Float](repeating: 0, count: x.rows)
        for r in 0..<x.rows {
            var sum: Float = 0
            for i in 0..<x.cols {
                let k = r * x.cols + i
                let pixel = UInt8(min(max((x.data[k] * 255).rounded(), 0), 255))
                let levels = PixelBudget.levels(pixel: pixel, budget: budget, delta: bits)
                let own = Int(pixel) >> (8 - bits)
                // Codes 2q + 1: one level is two code units (8-bit input has no levels; the option refuses it).
                let up = Float(2 * (levels.upperBound - own)), down = Float(2 * (own - levels.lowerBound))
                diff.data[k] = up - down
                reach.data[k] = up + down
                sum += up + down
            }
            total[r] = sum
        }
        return Slack(total: total, diff: diff, reach: reach)
    }

    /// The slack of a hidden layer's input `x` (`[rows, inputs]`: ±1 signs, scaled or zeroed by dropout) where
    /// `open` (same shape, 1 or 0) marks the previous layer's units the ball leaves open: an open input can move
    /// by −2·x_i, a fixed one not at all.
    public static func hiddenSlack(_ x: Matrix, open: [Float]) -> Slack {
        precondition(open.count == x.data.count, "open mask of \(open.count) values for \(x.data.count) inputs")
        var diff = Matrix(rows: x.rows, cols: x.cols), reach = diff
        var total = [Float](repeating: 0, count: x.rows)
        for r in 0..<x.rows {
            var sum: Float = 0
            for i in 0..<x.cols {
                let k = r * x.cols + i
                guard open[k] != 0 else { continue }
                diff.data[k] = -2 * x.data[k]
                reach.data[k] = 2 * abs(x.data[k])
                sum += 2 * abs(x.data[k])
            }
            total[r] = sum
        }
        return Slack(total: total, diff: diff, reach: reach)
    }

    /// The interval of a first layer with forward weights `weights` (`[units, pixels]`, ±1; any real values for
    /// the gradient check) whose output is `scale` times the code sum.
    ///
    /// Ternary weights (`ternary`: s_oi = −1, 0 or +1, `train fit --weight-sparsity`): a zero weight reads no slack,
    /// so T becomes per unit, T_o = Σ_i |s_oi| T_i (u_o = (T_o + Σ_i s_oi D_i) / 2, still exact over the ball), one
    /// more product per batch. With ±1 weights T_o = T and the binary form is used as it was.
    public static func interval(_ slack: Slack, weights: Matrix, scale: Float, weight: Float, bounded: Bool = false,
                                ternary: Bool = false) -> Interval {
        let p = Matrix.product(slack.diff, weights, transposeB: true)      // [rows, units]: Σ_i s_oi D_i
        let t = ternary ? Matrix.product(slack.reach, Matrix(rows: weights.rows, cols: weights.cols, data: weights.data.map(abs)),
                                         transposeB: true) : nil           // [rows, units]: Σ_i |s_oi| T_i
        let units = weights.rows
        var up = [Float](repeating: 0, count: p.data.count), down = up
        for r in 0..<p.rows {
            for o in 0..<units {
                let k = r * units + o
                let total = t?.data[k] ?? slack.total[r]
                up[k] = scale * (total + p.data[k]) / 2
                down[k] = scale * (total - p.data[k]) / 2
            }
        }
        return Interval(up: up, down: down, weight: weight, bounded: bounded)
    }

    /// dPenalty/d(forward weights), `[units, pixels]`, from dPenalty/d(up) and d(down) per element. For a ternary
    /// layer (`ternaryWeights`, its forward weights) T_o = Σ_i |s_oi| T_i depends on the weights too: its part,
    /// sign(s_oi) · scale / 2 · Σ_r (dUp + dDown)_ro T_ri, is added (the derivative of |s| taken as sign(s), 0 at a
    /// zero weight: the term pushes a non-zero weight toward zero, never a zero one away from it).
    public static func weightGradient(_ slack: Slack, dUp: [Float], dDown: [Float], units: Int, scale: Float,
                                      ternaryWeights: Matrix? = nil) -> [Float] {
        var g = Matrix(rows: slack.diff.rows, cols: units)
        for k in 0..<g.data.count { g.data[k] = scale * (dUp[k] - dDown[k]) / 2 }
        var out = Matrix.product(g, transposeA: true, slack.diff).data
        if let w = ternaryWeights {
            for k in 0..<g.data.count { g.data[k] = scale * (dUp[k] + dDown[k]) / 2 }
            let spread = Matrix.product(g, transposeA: true, slack.reach).data   // [units, inputs]
            for k in 0..<out.count where w.data[k] != 0 { out[k] += (w.data[k] > 0 ? 1 : -1) * spread[k] }
        }
        return out
    }

    /// What one evaluation gives: the term, and its derivatives by v (per element, as StableUnitPenalty's),
    /// by up and down (per element) and by each feature's batch σ.
    public struct Evaluation {
        public var value: Float
        public var dv: [Float]
        public var dUp: [Float]
        public var dDown: [Float]
        public var dStd: [Float]
        /// 1 where the unit is open (m > 0), else 0, per element: the next layer's open inputs.
        public var open: [Float]
    }

    /// The term over `xhat` (`[rows, features]` data) with the batch's 1/σ per feature `invStd`.
    public static func evaluate(xhat: [Float], features: Int, invStd: [Float], gamma: [Float], beta: [Float],
                                interval: Interval) -> Evaluation {
        let count = xhat.count
        var out = Evaluation(value: 0, dv: [Float](repeating: 0, count: count), dUp: [Float](repeating: 0, count: count),
                             dDown: [Float](repeating: 0, count: count), dStd: [Float](repeating: 0, count: features),
                              open: [Float](repeating: 0, count: count))
        guard count > 0 else { return out }
        let offset = (0..<features).map { beta[$0] / StableUnitPenalty.safeGamma(gamma[$0]) }
        let scale = interval.weight / Float(count)
        var total = 0.0
        for i in 0..<count {
            let c = i % features, inv = invStd[c]
            let v = xhat[i] + offset[c]
            let upper = v + interval.up[i] * inv, lower = interval.down[i] * inv - v
            let m = min(upper, lower)
            if m > 0 { out.open[i] = 1 }
            // softplus(m) and its derivative sigmoid(m), or sigmoid(m) and sigmoid(m)(1 − sigmoid(m)), without overflow.
            let e = Foundation.exp(-abs(m))
            let sigmoid = m >= 0 ? 1 / (1 + e) : e / (1 + e)
            total += Double(interval.bounded ? sigmoid : max(m, 0) + Foundation.log1p(e))
            let d = scale * (interval.bounded ? sigmoid * (1 - sigmoid) : sigmoid)
            if upper <= lower {
                out.dv[i] = d
                out.dUp[i] = d * inv
                out.dStd[c] -= d * interval.up[i] * inv * inv
            } else {
                out.dv[i] = -d
                out.dDown[i] = d * inv
                out.dStd[c] -= d * interval.down[i] * inv * inv
            }
        }
        out.value = Float(total) * scale
        return out
    }
}
