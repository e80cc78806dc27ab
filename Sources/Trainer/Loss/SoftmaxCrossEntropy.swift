import Foundation

/// Throws unless `labels` has one label per row of `logits` and each is a column of it: what makes
/// indexing the logits (or their gradient) by label safe. The loss and every attack score call it first,
/// whatever the data boundary checked (`ModelConfig.checkFits`).
func checkLabels(_ labels: [Int], of logits: Matrix) throws(TrainerError) {
    guard labels.count == logits.rows else {
        throw .dataMismatch("\(labels.count) labels for \(logits.rows) rows of logits")
    }
    if let bad = labels.firstIndex(where: { !(0..<logits.cols).contains($0) }) {
        throw .dataMismatch("label \(labels[bad]) of row \(bad) is not one of the model's \(logits.cols) classes")
    }
}

/// Mean softmax cross-entropy over a batch, and its gradient with respect to the logits.
public enum SoftmaxCrossEntropy {
    /// Loss, dL/dlogits (already divided by the batch size) and the number of correct argmax predictions.
    /// Throws `dataMismatch` for a label outside the logits' columns (never indexes with it).
    public static func evaluate(logits: Matrix, labels: [Int]) throws(TrainerError) -> (loss: Float, gradient: Matrix, correct: Int) {
        try checkLabels(labels, of: logits)
        let n = logits.rows, k = logits.cols
        var grad = Matrix(rows: n, cols: k)
        var loss: Double = 0
        var correct = 0
        let inv = 1 / Float(n)
        logits.data.withUnsafeBufferPointer { pl in
            grad.data.withUnsafeMutableBufferPointer { pg in
                for r in 0..<n {
                    let o = r * k
                    var mx = pl[o]
                    var arg = 0
                    for c in 1..<k where pl[o + c] > mx { mx = pl[o + c]; arg = c }
                    if arg == labels[r] { correct += 1 }
                    var sum: Float = 0
                    for c in 0..<k {
                        let e = expf(pl[o + c] - mx)
                        pg[o + c] = e
                        sum += e
                    }
                    loss += Double(logf(sum) + mx - pl[o + labels[r]])
                    for c in 0..<k { pg[o + c] = pg[o + c] / sum * inv }
                    pg[o + labels[r]] -= inv
                }
            }
        }
        return (Float(loss / Double(n)), grad, correct)
    }
}
