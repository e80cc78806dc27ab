import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Each layer's forward and backward, and a whole small FCN (float and BNN, straight-through paths
/// included), against PyTorch on the same inputs and weights. The reference values come from
/// `scripts/torch_parity.py`, run with the interpreter in `.venv-torch` (`make torch`) or
/// `$BITSHIELD_TORCH_PYTHON`; without PyTorch the test skips. Slow tier (BITSHIELD_SLOW=1, `make test`).
final class TorchParityTests: XCTestCase {
    nonisolated(unsafe) static var reference: SafeTensorsFile?
    nonisolated(unsafe) static var skipReason: String?

    override class func setUp() {
        if let reason = slowTierSkipReason("PyTorch parity") {
            skipReason = reason
            return
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let python = ProcessInfo.processInfo.environment["BITSHIELD_TORCH_PYTHON"] ?? repo + "/.venv-torch/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            skipReason = "no PyTorch interpreter at \(python) (run 'make torch')"
            return
        }
        let out = temporaryDirectory() + "/parity.safetensors"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [repo + "/scripts/torch_parity.py", out]
        do { try p.run() } catch { skipReason = "cannot run \(python): \(error)"; return }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            skipReason = "scripts/torch_parity.py exited \(p.terminationStatus) (is torch importable?)"
            return
        }
        reference = try? SafeTensorsFile.read(path: out)
    }

    func ref(_ name: String) throws -> NamedArray {
        if let reason = Self.skipReason { throw XCTSkip(reason) }
        return try XCTUnwrap(Self.reference?.tensor(name), "reference tensor \(name) missing")
    }

    func matrix(_ name: String) throws -> Matrix {
        let t = try ref(name)
        return Matrix(rows: t.shape[0], cols: t.shape.count > 1 ? t.shape[1] : 1, data: t.values)
    }

    func assertClose(_ ours: [Float], _ name: String, tolerance: Float = 1e-4, line: UInt = #line) throws {
        let theirs = try ref(name).values
        XCTAssertEqual(ours.count, theirs.count, name, line: line)
        var worst: Float = 0
        for (a, b) in zip(ours, theirs) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(name): worst relative difference \(worst)", line: line)
    }

    func run(_ layer: Layer, _ x: Matrix, _ dy: Matrix, training: Bool = true) -> (Matrix, Matrix) {
        var c = ForwardContext(training: training)
        let y = layer.forward(x, context: &c)
        return (y, layer.backward(dy, inputGradient: true)!)
    }

    func testDense() throws {
        for (case_, binary) in [("dense_float", false), ("dense_binary", true)] {
            var r = SeededRandom(seed: 1)
            let layer = Dense(name: "fc", inputs: 13, outputs: 7, weights: binary ? .binary : .float, bias: !binary, random: &r)
            layer.weight.value = try ref("\(case_).w").values
            if let b = layer.bias { b.value = try ref("\(case_).b").values }
            let (y, dx) = run(layer, try matrix("\(case_).x"), try matrix("\(case_).dy"))
            try assertClose(y.data, "\(case_).y")
            try assertClose(dx.data, "\(case_).dx")
            try assertClose(layer.weight.grad, "\(case_).dw")
            if let b = layer.bias { try assertClose(b.grad, "\(case_).db") }
        }
    }

    func testXNORDense() throws {
        var r = SeededRandom(seed: 1)
        let layer = Dense(name: "fc", inputs: 13, outputs: 7, weights: .xnor, bias: false, random: &r)
        layer.weight.value = try ref("dense_xnor.w").values
        let (y, dx) = run(layer, try matrix("dense_xnor.x"), try matrix("dense_xnor.dy"))
        try assertClose(y.data, "dense_xnor.y")
        try assertClose(dx.data, "dense_xnor.dx")
        try assertClose(layer.weight.grad, "dense_xnor.dw")
    }

    func testBatchNorm() throws {
        for (case_, training) in [("bn_train", true), ("bn_eval", false)] {
            let bn = BatchNorm(name: "bn", features: 6)
            bn.gamma.value = try ref("\(case_).gamma").values
            bn.beta.value = try ref("\(case_).beta").values
            bn.runningMean.value = try ref("\(case_).running_mean_in").values
            bn.runningVar.value = try ref("\(case_).running_var_in").values
            let (y, dx) = run(bn, try matrix("\(case_).x"), try matrix("\(case_).dy"), training: training)
            try assertClose(y.data, "\(case_).y")
            try assertClose(dx.data, "\(case_).dx")
            try assertClose(bn.runningMean.value, "\(case_).running_mean")
            try assertClose(bn.runningVar.value, "\(case_).running_var")
            if training {
                try assertClose(bn.gamma.grad, "\(case_).dgamma")
                try assertClose(bn.beta.grad, "\(case_).dbeta")
            }
        }
    }

    func testActivationsIncludingSignStraightThrough() throws {
        for (case_, layer) in [("hardtanh", HardTanh() as Layer), ("relu", ReLU()), ("sign", SignActivation())] {
            let (y, dx) = run(layer, try matrix("\(case_).x"), try matrix("\(case_).dy"))
            try assertClose(y.data, "\(case_).y", tolerance: 0)
            try assertClose(dx.data, "\(case_).dx", tolerance: 0)
        }
    }

    func testInputQuantizerOnEveryPixel() throws {
        for bits in [1, 2, 3, 4, 8] {
            var c = ForwardContext.evaluation
            let x = try matrix("quant\(bits).x")
            let q = InputQuantizer(bits: bits)
            let codes = q.forward(Matrix(rows: 1, cols: 256, data: x.data), context: &c)
            try assertClose(codes.data.map { $0 * q.scale }, "quant\(bits).y", tolerance: 1e-6)
        }
    }

    func testCrossEntropy() throws {
        let logits = try matrix("ce.logits")
        let labels = try ref("ce.labels").values.map { Int($0) }
        let (loss, grad, _) = try SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
        try assertClose([loss], "ce.loss", tolerance: 1e-5)
        try assertClose(grad.data, "ce.dlogits", tolerance: 1e-5)
    }

    /// A whole 20-12-12-5 network in training mode: logits, loss, input gradient, every parameter
    /// gradient and the updated BatchNorm statistics, binary (2-bit input) and float (8-bit input).
    func testWholeNetwork() throws {
        for (case_, precision) in [("net_binary", ModelConfig.Precision.binary), ("net_float", .float)] {
            var config = ModelConfig.fcn2(precision: precision, inputBits: precision == .binary ? 2 : 8)
            config.input = FeatureMap(height: 1, width: 20, channels: 1)
            config.hidden = [12, 12]
            config.classes = 5
            config.dropout = 0
            try compareWholeNetwork(case_, config: config)
        }
    }

    /// A small conv net (8x8x2, two 2x2 conv blocks, two dense layers) against the same net in PyTorch
    /// (NCHW there, weights permuted to our `[out, kh, kw, in]`), binary (2-bit input) and float.
    func testConvNetwork() throws {
        for (case_, precision) in [("conv_binary", ModelConfig.Precision.binary), ("conv_float", .float)] {
            var config = ModelConfig.conv(input: FeatureMap(height: 8, width: 8, channels: 2), classes: 3,
                                          precision: precision, inputBits: precision == .binary ? 2 : 8)
            config.convChannels = [3, 4]
            config.kernel = 2
            config.hidden = [6]
            config.dropout = 0
            try compareWholeNetwork(case_, config: config)
        }
    }

    func compareWholeNetwork(_ case_: String, config: ModelConfig, line: UInt = #line) throws {
        let net = try Network(config: config, seed: 1)
        for p in net.parameters where p.name.hasSuffix("weight") && !p.name.contains("bn") {
            p.value = try ref("\(case_).\(p.name)").values
        }
        let x = try matrix("\(case_).pixels").map { $0 / 255 }
        let labels = try ref("\(case_).labels").values.map { Int($0) }
        var c = ForwardContext(training: true)
        let logits = net.forward(x, context: &c)
        let (loss, g, _) = try SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
        let dx = try XCTUnwrap(net.backward(g, inputGradient: true))
        try assertClose(logits.data, "\(case_).logits", line: line)
        try assertClose([loss], "\(case_).loss", line: line)
        try assertClose(dx.data, "\(case_).dx", line: line)
        for p in net.parameters { try assertClose(p.grad, "\(case_).\(p.name).grad", line: line) }
        for s in net.state { try assertClose(s.value, "\(case_).\(s.name)", line: line) }
    }
}
