// The order in which the leaf stage (Leaf+Enumeration.swift) visits a box's images: the reflected
// mixed-radix Gray code, generated looplessly by Knuth's Algorithm H (The Art of Computer Programming,
// Vol. 4A, 7.2.1.1, "Loopless reflected mixed-radix Gray generation"). Each digit is one unsplit pixel's
// level offset (radix = its number of levels, at least 2); every tuple is visited exactly once, and each
// step changes one digit by ±1, so the first layer's accumulators follow with one column update.

/// The reflected mixed-radix Gray code over digits `0..<radices[j]`, starting at all zeros.
struct MixedRadixGray {
    /// The current tuple.
    private(set) var digits: [Int]
    private let radices: [Int]
    /// Knuth's directions o_j (±1) and focus pointers f_j (with f_n = n).
    private var direction: [Int]
    private var focus: [Int]

    /// A code over `radices` (each at least 2).
    init(radices: [Int]) {
        precondition(radices.allSatisfy { $0 >= 2 }, "a Gray-code digit needs at least two values")
        self.radices = radices
        digits = [Int](repeating: 0, count: radices.count)
        direction = [Int](repeating: 1, count: radices.count)
        focus = Array(0...radices.count)
    }

    /// Steps to the next tuple: returns the digit that changed and by how much (±1), or nil when every
    /// tuple has been visited (steps H3-H5).
    mutating func next() -> (digit: Int, step: Int)? {
        let n = radices.count
        let j = focus[0]
        focus[0] = 0
        if j == n { return nil }
        let step = direction[j]
        digits[j] += step
        if digits[j] == 0 || digits[j] == radices[j] - 1 {
            direction[j] = -direction[j]
            focus[j] = focus[j + 1]
            focus[j + 1] = j + 1
        }
        return (j, step)
    }
}
