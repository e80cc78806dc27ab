import CZ3
import Inference
import ModelFormat
@testable import Verification
import XCTest

/// A second solver (Z3, de Moura & Bjørner, TACAS 2008) agrees with both of the verifier's methods on a
/// sample: the network written independently as integer arithmetic (levels, codes 2q + 1, ±1 sums,
/// thresholds as if-then-else, the scores as ranks of the runtime's float32 values over each accumulator),
/// asked whether some class beats the label under the argmax's tie rule.
final class Z3AgreementTests: XCTestCase {
    /// Whether Z3 finds an image within `budget` of `pixels` that the network does not classify as `label`.
    func z3FindsCounterexample(_ net: BinaryNetwork, _ pixels: [UInt8], label: Int, budget: Int) -> Bool {
        let cfg = Z3_mk_config()!
        let ctx = Z3_mk_context(cfg)!
        Z3_del_config(cfg)
        defer { Z3_del_context(ctx) }
        let intSort = Z3_mk_int_sort(ctx)
        func int(_ v: Int) -> Z3_ast { Z3_mk_int(ctx, Int32(v), intSort)! }
        func sum(_ terms: [Z3_ast]) -> Z3_ast {
            terms.isEmpty ? int(0) : terms.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: Optional<Z3_ast>.self) { Z3_mk_add(ctx, UInt32(terms.count), $0.baseAddress)! }
            }
        }
        func neg(_ a: Z3_ast) -> Z3_ast { Z3_mk_unary_minus(ctx, a)! }
        func and(_ a: Z3_ast, _ b: Z3_ast) -> Z3_ast { [a, b].withUnsafeBufferPointer { p in p.withMemoryRebound(to: Optional<Z3_ast>.self) { Z3_mk_and(ctx, 2, $0.baseAddress)! } } }
        func or(_ xs: [Z3_ast]) -> Z3_ast { xs.withUnsafeBufferPointer { p in p.withMemoryRebound(to: Optional<Z3_ast>.self) { Z3_mk_or(ctx, UInt32(xs.count), $0.baseAddress)! } } }
        let solver = Z3_mk_solver(ctx)!
        Z3_solver_inc_ref(ctx, solver)
        defer { Z3_solver_dec_ref(ctx, solver) }

        // Codes of the pixels: free ones are variables over their reachable levels.
        var codes: [Z3_ast] = []
        for i in 0..<net.inputs {
            let reach = PixelBudget.levels(pixel: pixels[i], budget: budget, delta: net.delta)
            if reach.count == 1 { codes.append(int(2 * reach.lowerBound + 1)); continue }
            let q = Z3_mk_const(ctx, Z3_mk_int_symbol(ctx, Int32(i)), intSort)!
            Z3_solver_assert(ctx, solver, Z3_mk_ge(ctx, q, int(reach.lowerBound)))
            Z3_solver_assert(ctx, solver, Z3_mk_le(ctx, q, int(reach.upperBound)))
            codes.append(Z3_mk_add(ctx, 2, [Z3_mk_mul(ctx, 2, [int(2), q]), int(1)])!)
        }
        func sign(_ a: Z3_ast, _ t: Int32, _ flip: Bool) -> Z3_ast {
            let ge = Z3_mk_ge(ctx, a, int(Int(t)))!
            return Z3_mk_ite(ctx, flip ? Z3_mk_not(ctx, ge) : ge, int(1), int(-1))!
        }
        let m = net.firstUnits
        // Ternary layers: a zero weight's input is left out of the sum.
        func term(_ w: Int, _ x: Z3_ast) -> Z3_ast? { w == 0 ? nil : w > 0 ? x : neg(x) }
        var units = (0..<m).map { o in sum((0..<net.inputs).compactMap { i in term(Int(net.firstColumns[i * m + o]), codes[i]) }) }
        units = units.indices.map { sign(units[$0], net.firstThreshold!.threshold[$0], net.firstThreshold!.flip[$0]) }
        func dense(_ layer: BinaryNetwork.PackedLayer, _ x: [Z3_ast]) -> [Z3_ast] {
            (0..<layer.m).map { o in
                sum((0..<layer.n).compactMap { i in term(layer.weight(o, i), x[i]) })
            }
        }
        for layer in net.hidden {
            let a = dense(layer, units)
            units = a.indices.map { sign(a[$0], layer.threshold!.threshold[$0], layer.threshold!.flip[$0]) }
        }
        let accumulators = dense(net.last!, units)
        // Scores as ranks among every value the classes can take (equal floats, ±0 too, get one rank).
        let reach = net.last!.n
        let values = Set((0..<net.classes).flatMap { j in (-reach...reach).map { net.scores.score(j, $0) } }).sorted()
        let rank = (0..<net.classes).map { j in
            (-reach...reach).reduce(int(-1)) { rest, a in
                Z3_mk_ite(ctx, Z3_mk_eq(ctx, accumulators[j], int(a)), int(values.firstIndex(of: net.scores.score(j, a))!), rest)!
            }
        }
        let beats = (0..<net.classes).filter { $0 != label }.map { j in
            j < label ? Z3_mk_ge(ctx, rank[j], rank[label])! : Z3_mk_gt(ctx, rank[j], rank[label])!
        }
        Z3_solver_assert(ctx, solver, or(beats))
        return Z3_solver_check(ctx, solver) == Z3_L_TRUE
    }

    func testZ3AgreesWithBothMethods() throws {
        var g = TinyNetworks(seed: 5)
        var robust = 0, attacked = 0
        // The last, a ternary network (half its weights 0).
        for (widths, delta, zeros) in [([12, 8], 2, 0.0), ([10], 1, 0), ([8, 8, 6], 3, 0), ([12, 8], 2, 0.5)] {
            let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: .rows, zeros: zeros)
            let runtime = try Runtime(image)
            let net = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
            for _ in 0..<8 {
                let pixels = (0..<16).map { _ in UInt8(g.next() % 256) }
                let budget = [10, 25, 40, 70][g.int(0...3)]
                let label = runtime.classify(pixels)
                let z3 = z3FindsCounterexample(net, pixels, label: label, budget: budget)
                for method in VerificationMethod.allCases {
                    let verdict = try net.verify(pixels, label: label, budget: budget, timeLimit: nil, attack: false, method: method).verdict
                    XCTAssertEqual(verdict == .robust, !z3, "\(method) says \(verdict), Z3 \(z3 ? "finds" : "finds no") counterexample (budget \(budget))")
                }
                if z3 { attacked += 1 } else { robust += 1 }
            }
        }
        XCTAssertGreaterThan(robust, 3)
        XCTAssertGreaterThan(attacked, 3)
    }
}
