// The clause builder of the SAT method (docs/VERIFY.md, stage (d')): literals as DIMACS integers, constants
// folded as clauses are added, and the totalizer that turns "at least k of these literals" into clauses.
//
// Variable 1 is true (a unit clause), so `CNF.top` (1) and `CNF.bottom` (−1) are literals like any other and
// the encoders never special-case a constant: `add` drops a clause that holds `top` and removes `bottom`s.
//
// Cardinality: the totalizer of Bailleux & Boufkhad ("Efficient CNF Encoding of Boolean Cardinality
// Constraints", CP 2003), a balanced tree of unary adders whose node outputs o_i ⇔ (at least i inputs below
// are true), with both directions encoded (so a unit's output is equivalent to its threshold, which the
// layers above need), and counted only up to the cap (k-simplification: Büttner & Rintanen, "Satisfiability
// Planning with Constraints on the Number of Actions", ICAPS 2005): a node then has at most cap outputs, the
// last meaning "at least cap", and a merge costs at most cap² clauses per direction.

/// A CNF formula under construction, in DIMACS form: clauses end with 0.
struct CNF {
    /// The literal that is always true (variable 1), and its negation.
    static let top: Int32 = 1
    static let bottom: Int32 = -1
    /// The variables allocated so far (1 is `top`).
    private(set) var variables: Int32 = 1
    /// Every clause, each ended by 0.
    private(set) var literals: [Int32] = [1, 0]

    /// A new variable.
    mutating func fresh() -> Int32 {
        variables += 1
        return variables
    }

    /// Adds the clause, folding constants: nothing when it holds `top` (or a literal and its negation never
    /// arises here), without its `bottom`s otherwise (an empty clause makes the formula unsatisfiable).
    mutating func add(_ clause: Int32...) {
        let start = literals.count
        for l in clause where l != CNF.bottom {
            if l == CNF.top { literals.removeSubrange(start...); return }
            literals.append(l)
        }
        literals.append(0)
    }

    /// Literal for "at least `k` of `inputs` are true" (equivalent, both directions). Counts the true
    /// inputs up to k, or the false ones up to n − k + 1, whichever is fewer.
    mutating func atLeast(_ k: Int, of inputs: [Int32]) -> Int32 {
        let n = inputs.count
        if k <= 0 { return CNF.top }
        if k > n { return CNF.bottom }
        if k <= n - k + 1 { return totalizer(inputs[...], cap: k)[k - 1] }
        return -totalizer(inputs.map { -$0 }[...], cap: n - k + 1)[n - k]
    }

    /// The unary count of `inputs` up to `cap`: output i − 1 is equivalent to "at least i inputs are true"
    /// (the last, when the count is capped, to "at least cap").
    mutating func totalizer(_ inputs: ArraySlice<Int32>, cap: Int) -> [Int32] {
        precondition(!inputs.isEmpty && cap >= 1)
        if inputs.count == 1 { return [inputs.first!] }
        let mid = inputs.startIndex + inputs.count / 2
        let a = totalizer(inputs[..<mid], cap: cap), b = totalizer(inputs[mid...], cap: cap)
        let size = min(a.count + b.count, cap)
        var o: [Int32] = []
        o.reserveCapacity(size)
        for _ in 0..<size { o.append(fresh()) }
        /// Child output "at least i" (i = 0 is true; past an uncapped child's size, false).
        func at(_ x: [Int32], _ i: Int) -> Int32 { i == 0 ? CNF.top : (i <= x.count ? x[i - 1] : CNF.bottom) }
        for i in 0...a.count {
            for j in 0...b.count where i + j >= 1 && i + j <= size {
                add(-at(a, i), -at(b, j), o[i + j - 1])          // a ≥ i and b ≥ j ⇒ o ≥ i + j
            }
        }
        for i in 0...a.count {
            for j in 0...b.count where i + j + 1 <= size {
                add(at(a, i + 1), at(b, j + 1), -o[i + j])        // a ≤ i and b ≤ j ⇒ not o ≥ i + j + 1
            }
        }
        return o
    }
}
