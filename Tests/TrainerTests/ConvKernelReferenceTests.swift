import XCTest
@testable import Trainer

/// The conv path's fast kernels (SIMD max-pooling, products into unzeroed matrices) against plain loops that
/// follow the definitions, bit for bit: none of them re-associates a sum.
final class ConvKernelReferenceTests: XCTestCase {
    /// Channels 11 = one SIMD group of 8 and 3 left over; 5x7 drops the odd last row and column; values from
    /// {0, 0.5, 1} so most windows tie and the first maximum (row by row) must win; one NaN stays put.
    func testMaxPoolMatchesReferenceWithTiesAndRemainderChannels() {
        let map = FeatureMap(height: 5, width: 7, channels: 11)
        let pool = MaxPool2D(input: map)
        var random = SeededRandom(seed: 51)
        var x = Matrix(rows: 3, cols: map.size, data: (0..<(3 * map.size)).map { _ in
            Float(Int(random.uniform(0, 3))) * 0.5
        })
        x.data[map.size + 4] = .nan
        var c = ForwardContext(training: true)
        let y = pool.forward(x, context: &c)
        let dy = Matrix(rows: 3, cols: pool.output.size, data: (0..<(3 * pool.output.size)).map { Float($0 % 13) - 6 })
        let dx = pool.backward(dy, inputGradient: true)!

        let o = pool.output
        var expectedDx = Matrix(rows: 3, cols: map.size)
        for b in 0..<3 {
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    for ch in 0..<o.channels {
                        var bestAt = ((2 * oy) * map.width + 2 * ox) * map.channels + ch
                        for (py, px) in [(0, 1), (1, 0), (1, 1)] {
                            let at = ((2 * oy + py) * map.width + 2 * ox + px) * map.channels + ch
                            if x.data[b * map.size + at] > x.data[b * map.size + bestAt] { bestAt = at }
                        }
                        let j = (oy * o.width + ox) * o.channels + ch
                        let got = y.data[b * o.size + j], want = x.data[b * map.size + bestAt]
                        XCTAssertTrue(got == want || (got.isNaN && want.isNaN), "b \(b) output \(j): \(got) vs \(want)")
                        expectedDx.data[b * map.size + bestAt] += dy.data[b * o.size + j]
                    }
                }
            }
        }
        XCTAssertEqual(dx, expectedDx)
    }

    /// Every transpose combination, including shapes where C is written without being zeroed first.
    func testProductMatchesDefinitionForEveryTranspose() {
        let (m, k, n) = (7, 9, 5)
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randomMatrix(ta ? k : m, ta ? m : k, seed: 52)
                let b = randomMatrix(tb ? n : k, tb ? k : n, seed: 53)
                let c = Matrix.product(a, transposeA: ta, b, transposeB: tb)
                XCTAssertEqual([c.rows, c.cols], [m, n])
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k { sum += (ta ? a[p, i] : a[i, p]) * (tb ? b[j, p] : b[p, j]) }
                        XCTAssertEqual(c[i, j], sum, accuracy: 1e-5, "ta \(ta) tb \(tb) (\(i), \(j))")
                    }
                }
            }
        }
        XCTAssertEqual(Matrix.product(Matrix(rows: 3, cols: 0), Matrix(rows: 0, cols: 2)), Matrix(rows: 3, cols: 2))
    }

    /// The direct short-inner kernel (k <= 16, at least 4,096 rows) against the definition: 37 columns are two
    /// SIMD groups of 16 and 5 left over; both layouts of b. Tolerance 1e-5 (relative to sums of nine terms
    /// of size <= 4): the kernel keeps the order of the k terms, so it may differ only by SIMD code generation.
    func testSmallInnerProductMatchesDefinition() {
        let (m, k, n) = (Matrix.smallInnerMinimumRows + 3, 9, 37)
        let a = randomMatrix(m, k, seed: 54)
        for tb in [false, true] {
            let b = randomMatrix(tb ? n : k, tb ? k : n, seed: 55)
            let c = Matrix.product(a, b, transposeB: tb)
            var worst: Float = 0
            for i in stride(from: 0, to: m, by: 7) {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k { sum += a[i, p] * (tb ? b[j, p] : b[p, j]) }
                    worst = max(worst, abs(c[i, j] - sum))
                }
            }
            XCTAssertLessThan(worst, 1e-5, "transposeB \(tb)")
        }
    }
}
