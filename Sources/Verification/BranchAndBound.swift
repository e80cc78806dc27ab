// Stages (a) and (d) of the method: the free pixels, and a complete branch-and-bound search over them.
//
// (a) With δ-bit input a pixel p reaches, within the budget b = floor(255 ε), only the levels
// (max(p − b, 0) >> (8 − δ)) … (min(p + b, 255) >> (8 − δ)) (`PixelBudget.levels`, the rule the edge attack
// uses); a pixel whose range is one level cannot change the model's input and is fixed. Only the others,
// the free pixels, are searched, each over its few codes 2q + 1 (Eq. 2, `InputCodes`).
//
// (d) Branch and bound in the manner of Bunel et al. ("Branch and Bound for Piecewise Linear Neural
// Network Verification", JMLR 2020) over input domains: a node is a box of level ranges; the bounds of
// BoundPropagation either prove it robust, show that every image in it is misclassified (a
// counterexample: the box with its unsplit pixels at their clean levels), or leave it open, and an open
// box is split on one free pixel into its levels. In the top `strongDepth` levels of the tree the pixel is
// chosen by strong branching (every candidate's children examined: the most units fixed over all layers,
// product rule); deeper, by a cheap estimate, the pixel whose split fixes the most first-layer units in its
// worse branch (the same product rule on the exact first-layer bounds; Achterberg, "Constraint Integer
// Programming", 2007). The attack's level is tried first, then the levels farthest from the clean one, so
// counterexamples come early; an open box of at most `leafLimit` images is decided by running each of
// them (the leaf stage, Leaf+Enumeration.swift). The first-layer bounds are updated incrementally: fixing
// pixel i to code c moves every unit's lo and hi by w_oi times the change of its end (O(units) per node).
// A box of single levels is one image, always decided, so the search is complete; the time limit makes
// the answer unknown, never robust.

import ModelFormat

/// What the verifier says about one image.
public enum Verdict: Equatable, Sendable {
    /// No image within the budget changes the class from the label (proved).
    case robust
    /// These pixels (within the budget) are classified otherwise: the clean image when it is
    /// misclassified already.
    case counterexample([UInt8])
    /// The time limit came first.
    case unknown
}

/// One image's verdict and what the search did.
public struct VerificationResult: Sendable {
    /// The verdict.
    public var verdict: Verdict
    /// The class of the clean image.
    public var cleanClass: Int
    /// Pixels that can reach another quantizer level within the budget.
    public var freePixels: Int
    /// Nodes of the search examined.
    public var nodes: Int
    /// Images the leaf stage classified one by one (Leaf+Enumeration.swift).
    public var leafImages: Int = 0
}

extension BinaryNetwork {
    /// Adds pixel `i`'s first-layer weights to `acc`: `plus` where w_oi = +1, `minus` where it is −1, nothing
    /// where it is 0 (a ternary layer's zero weight: the unit does not read the pixel) (a code change c → c' is
    /// plus c' − c, minus c − c').
    func addColumn(_ i: Int, plus: Int32, minus: Int32, to acc: inout [Int32]) {
        let m = firstUnits
        firstColumns.withUnsafeBufferPointer { w in
            acc.withUnsafeMutableBufferPointer { a in
                let column = w.baseAddress! + i * m
                if firstTernary {
                    for o in 0..<m { a[o] &+= column[o] > 0 ? plus : (column[o] < 0 ? minus : 0) }
                } else {
                    for o in 0..<m { a[o] &+= column[o] > 0 ? plus : minus }
                }
            }
        }
    }

    /// The class of `pixels`, computed by the verifier's own exact arithmetic (the runtime computes it
    /// independently; the tool checks that they agree).
    public func classify(_ pixels: [UInt8]) throws(VerificationError) -> Int {
        guard pixels.count == inputCount else { throw .inputSize(expected: inputCount, found: pixels.count) }
        var search = Search(network: self, pixels: pixels, label: 0, budget: 0, deadline: nil)
        return search.cleanClass()
    }

    /// Decides whether any image within `budget` pixel units of `pixels` (clipped to [0, 255]) gets a class
    /// other than `label`, searching for at most `timeLimit` on `clock` (nil: no limit). `attack` runs the greedy
    /// attack before the search (the tests turn it off to reach the search's own counterexamples); `method`
    /// is the complete search that follows it; with branch and bound, a box of at most `leafLimit` images is
    /// decided by running each of them (0: never), and one of at most `wideLeafLimit` when the bounds leave most
    /// of the last hidden layer open (`Search.shouldEnumerate`; 0: never).
    public func verify(_ pixels: [UInt8], label: Int, budget: Int, timeLimit: Duration?, attack: Bool = true,
                       method: VerificationMethod = .branchAndBound, clock: SearchClock = .cpu,
                       leafLimit: Int = BinaryNetwork.defaultLeafLimit,
                       wideLeafLimit: Int = BinaryNetwork.defaultWideLeafLimit) throws(VerificationError) -> VerificationResult {
        guard pixels.count == inputCount else { throw .inputSize(expected: inputCount, found: pixels.count) }
        guard (0..<classes).contains(label) else { throw .label(label, classes: classes) }
        var search = Search(network: self, pixels: pixels, label: 0, budget: 0, deadline: nil)
        let clean = search.cleanClass()
        if clean != label { return VerificationResult(verdict: .counterexample(pixels), cleanClass: clean, freePixels: 0, nodes: 0) }
        search = Search(network: self, pixels: pixels, label: label, budget: max(budget, 0),
                        deadline: timeLimit.map { SearchDeadline(clock: clock, after: $0) })
        search.leafLimit = max(leafLimit, 0)
        search.wideLeafLimit = max(wideLeafLimit, 0)
        let verdict: Verdict
        if attack && search.attack(rounds: 2 * search.free.count) {
            verdict = .counterexample(search.counterexample())
        } else {
            switch method {
            case .branchAndBound: verdict = search.run()
            case .sat: verdict = try search.runSAT()
            case .units: verdict = search.runUnits()
            }
        }
        return VerificationResult(verdict: verdict, cleanClass: clean, freePixels: search.free.count, nodes: search.nodes,
                                  leafImages: search.leafImages)
    }
}

/// The search over one image's free pixels.
struct Search {
    let network: BinaryNetwork
    let pixels: [UInt8]
    let label: Int
    let deadline: SearchDeadline?
    /// The free pixels' indices, their clean levels and their current level ranges.
    var free: [Int] = []
    var clean: [Int] = []
    /// The level each free pixel tries first when split (the attack's, else the clean one).
    var preferred: [Int] = []
    var low: [Int] = []
    var high: [Int] = []
    /// First-layer accumulator bounds over the current box.
    var lo: [Int32]
    var hi: [Int32]
    var bounds: BoundPropagation
    var nodes = 0
    /// The leaf stage: boxes of at most this many images are enumerated (0: never), the images it ran, and
    /// its forward pass (of the margin width LeafForward selects), kept across leaves.
    var leafLimit = 0
    var wideLeafLimit = 0
    var leafImages = 0
    var narrowForward: PackedForward<Int16>? = nil
    var wideForward: PackedForward<Int32>? = nil

    init(network: BinaryNetwork, pixels: [UInt8], label: Int, budget: Int, deadline: SearchDeadline?) {
        self.network = network
        self.pixels = pixels
        self.label = label
        self.deadline = deadline
        let m = network.firstUnits, delta = network.delta
        var lo = [Int32](repeating: 0, count: m), hi = lo
        for i in 0..<network.inputs {
            let reach = PixelBudget.levels(pixel: pixels[i], budget: budget, delta: delta)
            if reach.count > 1 {
                free.append(i)
                clean.append(Int(pixels[i]) >> (8 - delta))
                low.append(reach.lowerBound)
                high.append(reach.upperBound)
            }
            let cl = Int32(2 * reach.lowerBound + 1), ch = Int32(2 * reach.upperBound + 1)
            network.addColumn(i, plus: cl, minus: -ch, to: &lo)
            network.addColumn(i, plus: ch, minus: -cl, to: &hi)
        }
        preferred = clean
        self.lo = lo
        self.hi = hi
        bounds = BoundPropagation(network: network)
    }

    /// The class of the image when nothing is free (budget 0).
    mutating func cleanClass() -> Int {
        let outcome = lo.withUnsafeBufferPointer { l in hi.withUnsafeBufferPointer { h in bounds.examine(lo: l, hi: h, label: 0) } }
        if case let .decided(c) = outcome { return c }
        preconditionFailure("an image with no free pixel is not decided (\(outcome))")
    }

    /// The verdict over the whole box: a depth-first search with an explicit stack (one frame per split
    /// pixel, so a hostile image with many free pixels cannot overflow the thread's stack), undoing each
    /// split in place (no copies of the bounds per level).
    mutating func run() -> Verdict {
        var stack: [(f: Int, levels: [Int], next: Int, low: Int, high: Int)] = []
        while true {
            nodes += 1
            if let deadline, nodes & 15 == 0, deadline.passed { return .unknown }
            let outcome = lo.withUnsafeBufferPointer { l in hi.withUnsafeBufferPointer { h in bounds.examine(lo: l, hi: h, label: label) } }
            switch outcome {
            case let .decided(c) where c != label: return .counterexample(counterexample())
            case .open where shouldEnumerate():
                let leaf = enumerateLeaf()
                if leaf != .robust { return leaf }
            case .open:
                let strong = stack.count < Self.strongDepth ? strongBranchingPixel() : nil
                if case let .some(.counterexample(x)) = strong { return .counterexample(x) }
                guard let f = strong?.pixel ?? branchingPixel() else { preconditionFailure("an open box with no pixel to split") }
                let levels = [preferred[f]] + (low[f]...high[f]).filter { $0 != preferred[f] }.sorted { abs($0 - clean[f]) > abs($1 - clean[f]) }
                stack.append((f, levels, 0, low[f], high[f]))
            case .robust, .decided: break
            }
            // The next sibling of the deepest split with one left; every split without one is undone.
            while let top = stack.last, top.next == top.levels.count {
                setRange(top.f, top.low, top.high)
                stack.removeLast()
            }
            guard !stack.isEmpty else { return .robust }
            let top = stack.count - 1
            let level = stack[top].levels[stack[top].next]
            stack[top].next += 1
            setRange(stack[top].f, level, level)
        }
    }

    /// Splits this shallow are chosen by strong branching (each candidate's children examined). Measured on
    /// FCN2 BNN-2b at 8/255 (20 MNIST images, 10 s): none 9 robust, depth 3 or 6: 12, depth 16: 10.
    static let strongDepth = 6

    /// What strong branching found: the pixel to split, or a child that is a counterexample.
    enum StrongChoice { case pixel(Int), counterexample([UInt8])
        var pixel: Int? { if case let .pixel(f) = self { return f } else { return nil } }
    }

    /// Strong branching (Achterberg, Koch & Martin, "Branching rules revisited", 2005): every unsplit pixel's
    /// children are examined, and the pixel whose children fix the most units over all layers (a proved
    /// child counts as every unit) in their product wins; a child that is misclassified whole is returned.
    mutating func strongBranchingPixel() -> StrongChoice? {
        var best: Int? = nil, bestScore = -1.0
        let all = bounds.fixed.reduce(0) { $0 + $1.count * 64 }
        for f in free.indices where low[f] < high[f] {
            let (l, h) = (low[f], high[f])
            var score = 1.0
            for level in l...h {
                setRange(f, level, level)
                nodes += 1
                let outcome = lo.withUnsafeBufferPointer { a in hi.withUnsafeBufferPointer { b in bounds.examine(lo: a, hi: b, label: label) } }
                var count = all
                switch outcome {
                case let .decided(c) where c != label:
                    let x = counterexample()
                    setRange(f, l, h)
                    return .counterexample(x)
                case .robust, .decided: break
                case .open: count = bounds.fixed.reduce(0) { $0 + BoundPropagation.count($1) }
                }
                score *= Double(1 + count)
            }
            setRange(f, l, h)
            if score > bestScore { best = f; bestScore = score }
        }
        return best.map { .pixel($0) }
    }

    /// The box's image: every split pixel at its level, every other at its clean pixel.
    func counterexample() -> [UInt8] {
        image(levels: free.indices.map { low[$0] == high[$0] ? low[$0] : clean[$0] })
    }

    /// Sets free pixel `f`'s level range to `newLow...newHigh`, moving the first-layer bounds with it: lo
    /// takes code(low) where w = +1 and −code(high) where w = −1, hi the other ends (codes 2q + 1).
    mutating func setRange(_ f: Int, _ newLow: Int, _ newHigh: Int) {
        let dLow = Int32(2 * (newLow - low[f])), dHigh = Int32(2 * (newHigh - high[f]))
        network.addColumn(free[f], plus: dLow, minus: -dHigh, to: &lo)
        network.addColumn(free[f], plus: dHigh, minus: -dLow, to: &hi)
        low[f] = newLow
        high[f] = newHigh
    }

    /// The unsplit free pixel whose split fixes the most undecided first-layer units (or of `given` units, all
    /// undecided) in its worse branch (product of the two ends' counts, plus one each), or nil when every free
    /// pixel is split.
    func branchingPixel(among given: [Int]? = nil) -> Int? {
        let m = network.firstUnits
        var undecided: [Int] = given ?? []
        if given != nil {
        } else if let t = network.firstThreshold {
            for o in 0..<m where Int(lo[o]) < Int(t.threshold[o]) && Int(hi[o]) >= Int(t.threshold[o]) { undecided.append(o) }
        } else {
            for o in 0..<m where lo[o] != hi[o] { undecided.append(o) }
        }
        var best: Int? = nil, bestScore = -1
        network.firstColumns.withUnsafeBufferPointer { w in
            for f in 0..<free.count where low[f] < high[f] {
                let column = w.baseAddress! + free[f] * m
                let width = 2 * (high[f] - low[f])
                var down = 0, up = 0
                for o in undecided where column[o] != 0 {   // a zero weight: the split leaves the unit as it is
                    let t = network.firstThreshold.map { Int($0.threshold[o]) } ?? Int(hi[o])
                    let below = Int(hi[o]) - width < t, above = Int(lo[o]) + width >= t
                    if column[o] > 0 { down += below ? 1 : 0; up += above ? 1 : 0 } else { down += above ? 1 : 0; up += below ? 1 : 0 }
                }
                let score = (1 + down) * (1 + up)
                if score > bestScore { best = f; bestScore = score }
            }
        }
        return best
    }
}
