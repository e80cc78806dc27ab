// A greedy attack before the search, so that most images that are not robust get their counterexample in
// milliseconds instead of deep in the tree: coordinate ascent over the free pixels' levels on the exact
// model (each round scores every single-pixel move to another reachable level by the exact margin
// max_j s_j − s_y, takes the best, and freezes the moved pixel for a few rounds, so it can cross plateaus
// of the integer network). It follows the outside greedy attack of issue 16 (and the edge attack's levels,
// Sources/Trainer/Attacks/EdgeAttack.swift) with the verifier's own exact arithmetic. It only ever
// reports an image it evaluated as misclassified, and its last point orders the search's first branch.

extension Search {
    /// Runs the attack for at most `rounds` rounds (and never past the deadline). On success the box is
    /// that image (every moved pixel split to its level) and it returns true; either way `preferred`
    /// holds the levels it ended at.
    mutating func attack(rounds: Int) -> Bool {
        guard !free.isEmpty else { return false }
        var levels = clean
        // Exact first-layer accumulators at the current levels: lo with every free pixel at its clean code.
        var exact = lo
        for f in free.indices {
            let c = Int32(2 * clean[f] + 1), cl = Int32(2 * low[f] + 1), ch = Int32(2 * high[f] + 1)
            network.addColumn(free[f], plus: c - cl, minus: ch - c, to: &exact)
        }
        var frozenUntil = [Int](repeating: 0, count: free.count)
        var trial = exact
        for round in 1...max(rounds, 1) {
            if let deadline, deadline.passed { break }
            var best: (f: Int, level: Int, margin: Float)? = nil
            for f in free.indices where frozenUntil[f] <= round {
                for level in low[f]...high[f] where level != levels[f] {
                    let delta = Int32(2 * (level - levels[f]))
                    trial = exact
                    network.addColumn(free[f], plus: delta, minus: -delta, to: &trial)
                    let (margin, wrong) = self.margin(trial)
                    nodes += 1
                    if let deadline, nodes & 63 == 0, deadline.passed { preferred = levels; return false }
                    if wrong {
                        levels[f] = level
                        preferred = levels
                        for g in free.indices where levels[g] != clean[g] { low[g] = levels[g]; high[g] = levels[g] }
                        return true
                    }
                    if best == nil || margin > best!.margin { best = (f, level, margin) }
                }
            }
            guard let move = best else { break }
            let delta = Int32(2 * (move.level - levels[move.f]))
            network.addColumn(free[move.f], plus: delta, minus: -delta, to: &exact)
            levels[move.f] = move.level
            frozenUntil[move.f] = round + 3
        }
        preferred = levels
        return false
    }

    /// The exact margin max_{j ≠ y} s_j − s_y at first-layer accumulators `a`, and whether the argmax
    /// picks a class other than y there.
    mutating func margin(_ a: [Int32]) -> (Float, Bool) {
        let outcome = a.withUnsafeBufferPointer { bounds.examine(lo: $0, hi: $0, label: label) }
        guard case let .decided(c) = outcome else { preconditionFailure("an image is not decided (\(outcome))") }
        let scores = network.scores
        let sums = network.last == nil ? a.map { Int($0) } : bounds.lastSums
        let sy = scores.score(label, sums[label])
        var m = -Float.infinity
        for j in 0..<network.classes where j != label { m = max(m, scores.score(j, sums[j]) - sy) }
        return (m, c != label)
    }
}
