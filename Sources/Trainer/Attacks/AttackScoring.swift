// Exact scoring shared by the search attacks (edge, Square): the model's own forward pass on 8-bit
// pixels, judged by misclassification first and the Carlini-Wagner margin second.

/// How far an input is from (or past) misclassification.
struct AttackScore: Sendable {
    /// The predicted class differs from the label.
    var wrong: Bool
    /// max_{j != y} z_j - z_y (positive once wrong, up to ties).
    var margin: Float

    /// The score of a clean image before anything is known.
    static let worst = AttackScore(wrong: false, margin: -.infinity)

    /// Whether `self` is more damaging than `other`: wrong beats right, then the larger margin.
    func beats(_ other: AttackScore) -> Bool {
        (wrong && !other.wrong) || (wrong == other.wrong && margin > other.margin)
    }
}

extension Network {
    /// Scores 8-bit images (`pixels`, `rows` of `cols`) against their labels with one forward pass.
    func scores(pixels: [UInt8], rows: Int, cols: Int, labels: [Int]) throws(TrainerError) -> [AttackScore] {
        var x = Matrix(rows: rows, cols: cols)
        x.data.withUnsafeMutableBufferPointer { d in
            pixels.withUnsafeBufferPointer { p in
                for i in 0..<d.count { d[i] = Float(p[i]) / 255 }
            }
        }
        return try AttackScore.of(logits: logits(x), labels: labels)
    }
}

extension AttackScore {
    /// Scores of each row of `z` for its label (a label outside `z`'s columns throws).
    static func of(logits z: Matrix, labels: [Int]) throws(TrainerError) -> [AttackScore] {
        try checkLabels(labels, of: z)
        return (0..<z.rows).map { r in
            let y = labels[r]
            var arg = 0
            for c in 1..<z.cols where z[r, c] > z[r, arg] { arg = c }
            var other = -Float.infinity
            for c in 0..<z.cols where c != y { other = max(other, z[r, c]) }
            return AttackScore(wrong: arg != y, margin: other - z[r, y])
        }
    }
}

/// Rounds pixels on the [0, 1] scale to 8-bit values.
func pixels8(_ x: Matrix) -> [UInt8] {
    x.data.map { UInt8(min(max(($0 * 255).rounded(), 0), 255)) }
}
