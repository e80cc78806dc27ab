import XCTest
@testable import Trainer

/// Finite-difference gradient checks: f = sum(forward(x) * r) for a fixed random r, so dL/dy = r.
/// The analytic gradients come from `layer.backward(r)`; the numeric ones from central differences
/// of `surrogate` (the layer itself unless a straight-through estimator defines its gradient through
/// another function: hardtanh for sign, identity for the input quantizer, sign(W) for binary weights).
struct GradientCheck {
    var step: Float = 1e-2
    /// Allowed |numeric - analytic| relative to max(1, |numeric|, |analytic|).
    var tolerance: Double = 2e-2
    var samples = 40
    var training = true

    func value(_ layer: Layer, _ x: Matrix, _ r: Matrix) -> Double {
        var context = ForwardContext(training: training, random: SeededRandom(seed: 7, stream: 9))
        let y = layer.forward(x, context: &context)
        var s = 0.0
        for i in 0..<y.data.count { s += Double(y.data[i]) * Double(r.data[i]) }
        // A BatchNorm's stable-unit penalty is part of the loss its backward pass differentiates.
        return s + Double((layer as? BatchNorm)?.lastPenalty ?? 0)
    }

    /// Checks dL/dx and every parameter gradient of `layer` at `x`.
    func run(_ layer: Layer, surrogate: Layer? = nil, input x: Matrix, outputs: Int,
             file: StaticString = #filePath, line: UInt = #line) {
        var random = SeededRandom(seed: 42)
        let fd = surrogate ?? layer
        let r = Matrix(rows: x.rows, cols: outputs, data: (0..<(x.rows * outputs)).map { _ in random.uniform(-1, 1) })
        var context = ForwardContext(training: training, random: SeededRandom(seed: 7, stream: 9))
        _ = layer.forward(x, context: &context)
        guard let dx = layer.backward(r, inputGradient: true) else {
            return XCTFail("layer returned no input gradient", file: file, line: line)
        }
        var picker = SeededRandom(seed: 3)
        // Input gradient.
        for _ in 0..<samples {
            let i = Int(picker.next() % UInt64(x.data.count))
            var xp = x, xm = x
            xp.data[i] += step
            xm.data[i] -= step
            let numeric = (value(fd, xp, r) - value(fd, xm, r)) / Double(2 * step)
            compare(numeric, Double(dx.data[i]), "dL/dx[\(i)]", file: file, line: line)
        }
        // Parameter gradients (the surrogate's parameters line up with the layer's one to one).
        let analytic = layer.parameters.map(\.grad)
        for (k, p) in fd.parameters.enumerated() {
            for _ in 0..<min(samples, p.value.count) {
                let i = Int(picker.next() % UInt64(p.value.count))
                let saved = p.value[i]
                p.value[i] = saved + step
                let up = value(fd, x, r)
                p.value[i] = saved - step
                let down = value(fd, x, r)
                p.value[i] = saved
                compare((up - down) / Double(2 * step), Double(analytic[k][i]), "dL/d\(p.name)[\(i)]", file: file, line: line)
            }
        }
    }

    func compare(_ numeric: Double, _ analytic: Double, _ what: String, file: StaticString, line: UInt) {
        let scale = max(1, abs(numeric), abs(analytic))
        XCTAssertLessThanOrEqual(abs(numeric - analytic) / scale, tolerance,
                                 "\(what): numeric \(numeric), analytic \(analytic)", file: file, line: line)
    }
}

/// A random matrix with entries in [lo, hi), kept at least `margin` away from each of `avoid`.
func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64, lo: Float = -2, hi: Float = 2,
                  avoid: [Float] = [], margin: Float = 0.05) -> Matrix {
    var random = SeededRandom(seed: seed)
    var data: [Float] = []
    while data.count < rows * cols {
        let v = random.uniform(lo, hi)
        if avoid.allSatisfy({ abs(v - $0) > margin }) { data.append(v) }
    }
    return Matrix(rows: rows, cols: cols, data: data)
}
