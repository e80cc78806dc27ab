// Stage (d''), `verify --method units`: branch and bound over what the root bounds leave OPEN in the first layer,
// not over the pixels. After the free pixels are known (stage a), each first-layer unit either has its sign fixed
// over the whole box or is open; a unit's sign is a function of the image, so splitting on it ("A ≥ t" or
// "A < t", the folded threshold of spec/FORMAT.md) partitions the box's images in two, as splitting a ReLU does
// in the branch and bound of Bunel et al. ("Branch and Bound for Piecewise Linear Neural Network Verification",
// JMLR 2020; Wang et al., "Beta-CROWN", NeurIPS 2021) and as EEV's search on BNN units does (Jia & Rinard,
// NeurIPS 2020). A node is a box of pixel levels plus the first-layer signs forced so far; its bounds are the
// box's exact first-layer intervals clamped by the forced signs (lo ≥ t for A ≥ t, hi ≤ t − 1 for A < t), which
// then go through stage (b) and (c) unchanged (BoundPropagation.examine). That is a relaxation: it treats the
// forced units as independent of the other units over the box, so "robust" is sound for every image of the node;
// a node whose clamped interval is empty (a forced sign no image of the box gives) holds no image and is closed.
//
// With every first-layer unit fixed (by the box or by force) every later layer is exact, so the tree over units
// has at most 2^(open units) leaves; on models trained for the budget (`train fit --certify-layers`) that is tens of
// units where the pixel tree has ~49 free pixels at ε 0.1 (docs/VERIFY.md). A node whose class is decided but
// wrong under forced signs is not yet a counterexample (the pattern may be unreachable): the search then splits
// pixels inside it (the one that decides the most forced-but-undecided units in its worse branch), closing every
// child whose clamped interval becomes empty; a box of single levels is one image, whose intervals are exact, so
// the forced signs are its own and the verdict is real. The search is complete; the time limit makes it unknown.
// Each forced sign is a linear constraint on the codes (over the pixels its unit reads: a ternary layer's zero
// weights leave a pixel out of it); domain propagation (bounds consistency, as a CP or MIP
// solver's presolve does) removes every pixel level that would break one, to a fixpoint, so forcing a unit also
// narrows the pixels and with them every other unit's interval (what a pixel split does); the changes are kept
// on a trail and undone on the way back.
// In the top `strongDepth` levels the unit is chosen by strong branching (both children examined; the most units
// fixed over all layers, product rule; Achterberg, Koch & Martin 2005), deeper the open unit whose threshold lies
// nearest the middle of its clamped interval (the one the other splits are least likely to decide).

extension Search {
    /// A split of the unit search: a first-layer unit's sign (values +1: A ≥ t, then −1: A < t), or a pixel's levels;
    /// `mark` is the trail's length before the split, where each child starts.
    private enum Split {
        case unit(o: Int, next: Int, mark: Int)
        case pixel(f: Int, levels: [Int], next: Int, mark: Int)
    }

    /// The verdict over the whole box by branching on open first-layer units first, pixels only where a wrong
    /// class must be shown reachable.
    mutating func runUnits() -> Verdict {
        guard let threshold = network.firstThreshold, network.last != nil else { return run() }
        let m = network.firstUnits, t = threshold.threshold
        var forced = [Int8](repeating: 0, count: m)
        var forcedUnits: [Int] = []
        var elo = lo, ehi = hi
        var stack: [Split] = []
        // Every change of a pixel's range, to undo on the way back: (pixel, old low, old high).
        var trail: [(f: Int, low: Int, high: Int)] = []

        func tighten(_ s: inout Search, _ f: Int, _ l: Int, _ h: Int) {
            trail.append((f, s.low[f], s.high[f]))
            s.setRange(f, l, h)
        }
        func undo(_ s: inout Search, to mark: Int) {
            while trail.count > mark { let e = trail.removeLast(); s.setRange(e.f, e.low, e.high) }
        }
        /// Domain propagation of the forced signs onto the pixels (bounds consistency on each linear constraint
        /// Σ w_oi c_i ≥ t or < t, to a fixpoint): a level that would take a forced unit's best end past its threshold
        /// is removed. False when a forced sign leaves no image in the box.
        func propagate(_ s: inout Search) -> Bool {
            var changed = true
            while changed {
                changed = false
                for o in forcedUnits {
                    let slack = forced[o] > 0 ? Int(s.hi[o]) - Int(t[o]) : Int(t[o]) - 1 - Int(s.lo[o])
                    if slack < 0 { return false }
                    let half = slack / 2
                    for f in s.free.indices where s.low[f] < s.high[f] && 2 * (s.high[f] - s.low[f]) > slack {
                        let w = s.network.firstColumns[s.free[f] * m + o]
                        if w == 0 { continue }   // a ternary zero weight: the pixel does not move the unit
                        let up = (forced[o] > 0) == (w > 0)
                        let (l, h) = up ? (max(s.low[f], s.high[f] - half), s.high[f]) : (s.low[f], min(s.high[f], s.low[f] + half))
                        tighten(&s, f, l, h)
                        changed = true
                    }
                }
            }
            return true
        }
        /// The node's clamped bounds into elo/ehi; false when a forced sign leaves no image.
        func clamp(_ s: inout Search) -> Bool {
            for o in 0..<m { elo[o] = s.lo[o]; ehi[o] = s.hi[o] }
            for o in forcedUnits {
                if forced[o] > 0 {
                    if s.hi[o] < t[o] { return false }
                    elo[o] = max(elo[o], t[o])
                } else {
                    if s.lo[o] >= t[o] { return false }
                    ehi[o] = min(ehi[o], t[o] - 1)
                }
            }
            return true
        }
        func examine(_ s: inout Search) -> NodeOutcome? {
            guard propagate(&s), clamp(&s) else { return nil }
            let label = s.label
            return elo.withUnsafeBufferPointer { l in ehi.withUnsafeBufferPointer { h in s.bounds.examine(lo: l, hi: h, label: label) } }
        }
        /// Strong branching over open first-layer units: each candidate's two signs examined (with propagation,
        /// undone after), the unit whose children fix the most units over all layers (a closed child counts as
        /// every unit) in their product.
        func strongBranchingUnit(_ s: inout Search, _ open: [Int]) -> Int {
            let all = s.bounds.fixed.reduce(0) { $0 + $1.count * 64 }
            var best = open[0], bestScore = -1.0
            let mark = trail.count
            for o in open {
                var score = 1.0
                forcedUnits.append(o)
                for sign: Int8 in [1, -1] {
                    forced[o] = sign
                    s.nodes += 1
                    var count = all
                    if case .open? = examine(&s) { count = s.bounds.fixed.reduce(0) { $0 + BoundPropagation.count($1) } }
                    undo(&s, to: mark)
                    score *= Double(1 + count)
                }
                forced[o] = 0
                forcedUnits.removeLast()
                if score > bestScore { best = o; bestScore = score }
            }
            return best
        }

        while true {
            nodes += 1
            if let deadline, nodes & 15 == 0, deadline.passed { return .unknown }
            switch examine(&self) {
            case nil, .robust?: break
            case let .decided(c)? where c == label: break
            case .decided?:
                // A wrong class under forced signs: show it reachable by splitting the pixels that settle them.
                let undecided = forcedUnits.filter { lo[$0] < t[$0] && hi[$0] >= t[$0] }
                if undecided.isEmpty { return .counterexample(counterexample()) }
                guard let f = branchingPixel(among: undecided) else { preconditionFailure("forced units undecided with no pixel to split") }
                let levels = ([preferred[f]] + (low[f]...high[f]).filter { $0 != preferred[f] }.sorted { abs($0 - clean[f]) > abs($1 - clean[f]) })
                    .filter { (low[f]...high[f]).contains($0) }
                stack.append(.pixel(f: f, levels: levels, next: 0, mark: trail.count))
            case .open?:
                let open = (0..<m).filter { elo[$0] < t[$0] && ehi[$0] >= t[$0] }
                precondition(!open.isEmpty, "an open node with every first-layer unit fixed")
                let o = stack.count < Self.strongDepth && open.count > 1
                    ? strongBranchingUnit(&self, open)
                    : open.max { Self.centrality(elo[$0], ehi[$0], t[$0]) < Self.centrality(elo[$1], ehi[$1], t[$1]) }!
                stack.append(.unit(o: o, next: 0, mark: trail.count))
            }
            // Undo the node's own changes, then take the next sibling of the deepest split with one left; every
            // split without one is undone.
            while let top = stack.popLast() {
                switch top {
                case let .unit(o, next, mark):
                    undo(&self, to: mark)
                    if next == 2 {
                        forced[o] = 0
                        forcedUnits.removeLast()
                        continue
                    }
                    if next == 0 { forcedUnits.append(o) }
                    forced[o] = next == 0 ? 1 : -1
                    stack.append(.unit(o: o, next: next + 1, mark: mark))
                case let .pixel(f, levels, next, mark):
                    undo(&self, to: mark)
                    if next == levels.count { continue }
                    tighten(&self, f, levels[next], levels[next])
                    stack.append(.pixel(f: f, levels: levels, next: next + 1, mark: mark))
                }
                break
            }
            if stack.isEmpty { return .robust }
        }
    }

    /// How far inside its clamped interval lo...hi a unit's threshold t lies (the smaller side).
    @inline(__always)
    static func centrality(_ lo: Int32, _ hi: Int32, _ t: Int32) -> Int32 { min(t - lo, hi - t + 1) }
}
