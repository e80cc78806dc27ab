// Stage (d'), the second complete method: the box left open by the bounds, as one SAT problem per image,
// solved by CaDiCaL incrementally across the wrong classes (docs/VERIFY.md, "The SAT method").
//
// The encoding follows Narodytska et al. ("Verifying Properties of Binarized Deep Neural Networks", AAAI
// 2018) and Cheng et al. ("Verification of Binarized Neural Networks via Inter-Neuron Factoring", 2018): each
// binary unit is a cardinality constraint on its inputs, here a totalizer (CNF.swift), and it starts from the
// root bounds of BoundPropagation as EEV does (Jia & Rinard, NeurIPS 2020: fix every unit the bounds decide,
// encode only the rest), so a fixed unit is a constant and its fan-in is never encoded.
//
// - Free pixel f with levels low...high: order variables x_k ⇔ (level ≥ low + k), k = 1 ... high − low
//   (x_{k+1} ⇒ x_k). A first-layer unit with weight +1 adds 2 per true x_k to its lower bound lo, one with
//   weight −1 adds 2 per false x_k, so A = lo + 2·(true literals) and A ≥ t ⇔ at least ⌈(t − lo)/2⌉ are true.
// - A later binary unit: its fixed inputs sum to F exactly; each free input agrees with its weight or not, so
//   A = F − n_free + 2·(agreeing inputs), a cardinality constraint on the free inputs' literals. In a ternary
//   layer F, n_free and the literals run over the row's non-zero weights only (a zero weight reads nothing, so
//   its input is left out of the constraint); likewise a first-layer pixel with a zero weight adds no literal.
// - The last layer: for the true class y and each class j the bounds cannot rule out, a full totalizer over
//   the free inputs row j reads (n_j of them: all free inputs, or a ternary row's non-zero ones) gives the
//   unary count c_j, A_j = F_j − n_j + 2·c_j. For every value c of c_y, the ScoreMap's exact float32 scores
//   and tie rule give the c_j values at which j beats y (an interval: scores are monotone in A), and one pair
//   of clauses says "c_y = c ⇒ c_j in that interval", guarded by an activation literal of class j.
// - One solve per class under its activation literal (incremental: what the solver learns about the shared
//   hidden layers carries over). Satisfiable: the free pixels' levels are a counterexample, checked with the
//   verifier's exact arithmetic before it is returned. Every class unsatisfiable: robust.

extension Search {
    /// The most literals (with clause ends) one image's formula may hold (4 bytes each: 128 MiB, and CaDiCaL's
    /// copy); past it, the image is unknown.
    static let maxFormulaLiterals = 1 << 25

    /// Decides the current box with the SAT encoding (after the attack, which leaves the box whole when it
    /// fails). Unknown when the deadline passes or the formula would exceed `maxFormulaLiterals`.
    mutating func runSAT() throws(VerificationError) -> Verdict {
        nodes += 1
        let root = lo.withUnsafeBufferPointer { l in hi.withUnsafeBufferPointer { h in bounds.examine(lo: l, hi: h, label: label) } }
        switch root {
        case .robust: return .robust
        case let .decided(c): return c == label ? .robust : .counterexample(counterexample())
        case .open: break
        }
        guard let firstThreshold = network.firstThreshold, let last = network.last else {
            // One layer: the class accumulators are the first layer's (left to the search, which is exact there).
            return run()
        }
        var cnf = CNF()
        func tooLarge() -> Bool {
            cnf.literals.count > Self.maxFormulaLiterals || (deadline?.passed ?? false)
        }

        // The free pixels' order variables.
        var order: [[Int32]] = []
        for f in free.indices {
            let vars = (0..<(high[f] - low[f])).map { _ in cnf.fresh() }
            for k in vars.indices.dropFirst() { cnf.add(-vars[k], vars[k - 1]) }
            order.append(vars)
        }

        // First layer: a literal per unit (true: the unit is +1).
        let m = network.firstUnits
        var units = [Int32](repeating: CNF.top, count: m)
        network.firstColumns.withUnsafeBufferPointer { w in
            for o in 0..<m {
                let t = Int(firstThreshold.threshold[o]), flip = firstThreshold.flip[o]
                if Int(lo[o]) >= t { units[o] = flip ? CNF.bottom : CNF.top; continue }
                if Int(hi[o]) < t { units[o] = flip ? CNF.top : CNF.bottom; continue }
                var inputs: [Int32] = []
                for f in free.indices where !order[f].isEmpty && w[free[f] * m + o] != 0 {
                    let positive = w[free[f] * m + o] > 0
                    for x in order[f] { inputs.append(positive ? x : -x) }
                }
                let atLeast = cnf.atLeast(Self.ceilHalf(t - Int(lo[o])), of: inputs)
                units[o] = flip ? -atLeast : atLeast
                if tooLarge() { break }
            }
        }
        if tooLarge() { return .unknown }

        // Hidden layers: the root bounds' fixed units are constants.
        for (l, layer) in network.hidden.enumerated() {
            let fixedIn = bounds.fixed[l], valueIn = bounds.value[l]
            let known = BoundPropagation.count(fixedIn)
            let threshold = layer.threshold!
            var next = [Int32](repeating: CNF.top, count: layer.m)
            for o in 0..<layer.m {
                if Self.bit(bounds.fixed[l + 1], o) {
                    next[o] = Self.bit(bounds.value[l + 1], o) ? CNF.bottom : CNF.top
                    continue
                }
                let f = BoundPropagation.fixedSum(layer, row: o, fixed: fixedIn, value: valueIn, known: known).sum
                let inputs = Self.agreeing(layer, row: o, fixed: fixedIn, units: units)
                let atLeast = cnf.atLeast(Self.ceilHalf(Int(threshold.threshold[o]) - f + inputs.count), of: inputs)
                next[o] = threshold.flip[o] ? -atLeast : atLeast
                if tooLarge() { return .unknown }
            }
            units = next
        }

        // The last layer, class against class.
        let fixedIn = bounds.fixed[bounds.fixed.count - 1]
        let scores = network.scores, y = label
        let n = bounds.lastOpen, sums = bounds.lastSums
        let yRange = scores.range(y, sums[y] - n[y], sums[y] + n[y])
        let rivals = (0..<network.classes).filter { j in
            j != y && ScoreMap.beats(j, scores.range(j, sums[j] - n[j], sums[j] + n[j]).high, y, yRange.low)
        }
        if rivals.isEmpty { return .robust }
        func count(_ j: Int) throws(VerificationError) -> [Int32] {
            let inputs = Self.agreeing(last, row: j, fixed: fixedIn, units: units)
            guard inputs.count == n[j] else { throw .unsound("class \(j) reads \(inputs.count) free inputs, the bounds say \(n[j])") }
            return [CNF.top] + (inputs.isEmpty ? [] : cnf.totalizer(inputs[...], cap: n[j])) + [CNF.bottom]
        }
        let cy = try count(y)
        var activation: [Int32] = []
        for j in rivals {
            let cj = try count(j), act = cnf.fresh()
            activation.append(act)
            for c in 0...n[y] {
                let sy = scores.score(y, sums[y] - n[y] + 2 * c)
                let wins = (0...n[j]).filter { ScoreMap.beats(j, scores.score(j, sums[j] - n[j] + 2 * $0), y, sy) }
                // c_y = c ⇒ c_j in first...last (none: c_y = c is impossible under act).
                let (first, lastWin) = wins.isEmpty ? (n[j] + 1, n[j] + 1) : (wins.first!, wins.last!)
                cnf.add(-act, -cy[c], cy[c + 1], first == n[j] + 1 ? CNF.bottom : cj[first])
                if !wins.isEmpty { cnf.add(-act, -cy[c], cy[c + 1], -cj[lastWin + 1]) }
            }
            if tooLarge() { return .unknown }
        }

        if tooLarge() { return .unknown }
        let solver = CaDiCaL(deadline: deadline)
        guard solver.add(cnf) else { return .unknown }
        for act in activation {
            nodes += 1
            guard let satisfiable = solver.solve(assuming: [act]) else { return .unknown }
            guard satisfiable else { continue }
            for f in free.indices {
                let level = low[f] + order[f].filter { solver.value($0) }.count
                low[f] = level
                high[f] = level
            }
            let image = counterexample()
            let c = try network.classify(image)
            guard c != label else { throw .unsound("the SAT model's image is classified \(c), its label") }
            return .counterexample(image)
        }
        return .robust
    }

    /// ⌈v / 2⌉ for any integer v.
    static func ceilHalf(_ v: Int) -> Int { (v + 1) >> 1 }

    /// Whether bit `i` of packed `words` is set.
    static func bit(_ words: [UInt64], _ i: Int) -> Bool { words[i >> 6] >> UInt64(i & 63) & 1 == 1 }

    /// Row `o`'s free inputs as literals that are true when the input agrees with its weight (the unit's
    /// literal where the weight is +1, its negation where it is −1; none where it is 0, a ternary zero weight).
    static func agreeing(_ layer: BinaryNetwork.PackedLayer, row o: Int, fixed: [UInt64], units: [Int32]) -> [Int32] {
        var out: [Int32] = []
        for i in 0..<layer.n where !bit(fixed, i) {
            switch layer.weight(o, i) {
            case 1: out.append(units[i])
            case -1: out.append(-units[i])
            default: break
            }
        }
        return out
    }
}

