import Inference
import ModelFile
import ModelFormat

/// Small random binary networks, built as model images with ImageBuilder, and a brute-force oracle
/// (the runtime over every choice of the free pixels' levels) for the verifier's tests.
struct TinyNetworks {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }

    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    /// A network on `side` x `side` pixels at δ bits: a first layer of `widths[0]` units on codes, then
    /// binary layers of the other widths, then `classes` scores through an affine whose scales are small
    /// numbers of either sign (ties and falling scores happen) and argmax. Dense weights in `layout`;
    /// `widths` empty makes the first layer the last. With `extremeThresholds`, a third of the thresholds lie
    /// at or just beyond the accumulators' reach R (±R, ±(R + 1), ±(R + 2)) or at Int32's ends. With `zeros` > 0
    /// every dense layer is ternary (format version 5): each weight is 0 with that probability, else ±1, written
    /// as its two planes (`BitPacking.ternaryPlanes`) with the lower one as dense parameter 6 (its index + 1).
    mutating func image(side: Int, delta: Int, widths: [Int], classes: Int, layout: PackedRows.Layout,
                        extremeThresholds: Bool = false, zeros: Double = 0) -> [UInt8] {
        var b = ImageBuilder(inputHeight: side, inputWidth: side, inputChannels: 1, classes: classes)
        let n0 = side * side
        b.addOp(.inputCodes, [delta])
        let sizes = [n0] + widths + [classes]
        for l in 0..<(sizes.count - 1) {
            let n = sizes[l], m = sizes[l + 1]
            let signs = (0..<(n * m)).map { _ in next() % 2 == 0 ? Float(1) : -1 }
            let weights = zeros > 0 ? signs.map { Double(next() % 1_000_000) < zeros * 1_000_000 ? 0 : $0 } : signs
            let planes = zeros > 0 ? BitPacking.ternaryPlanes(weights) : (upper: signs, lower: [])
            func add(_ plane: [Float]) -> Int {
                let type: TensorType = switch layout { case .rows: .bits; case .blocked8: .bits8; case .columns32: .columns32 }
                return b.addDense(BitPacking.pack(signs: plane, rows: m, n: n), rows: m, n: n, type: type)
            }
            let w = add(planes.upper), lower = planes.lower.isEmpty ? 0 : add(planes.lower) + 1
            let onCodes = l == 0
            b.addOp(.dense, [n, m, w, Int(onCodes ? InputKind.codes.rawValue : InputKind.bits.rawValue),
                             onCodes ? InputCodes.codeBits(delta: delta) : 0, 0] + (lower == 0 ? [] : [lower]))
            if l < sizes.count - 2 {
                // Thresholds near the middle of the range the accumulators take, so units change.
                // (A ternary layer's rows read a fraction 1 − zeros of their inputs: its spread shrinks with it.)
                let spread = max(1, Int(Double(onCodes ? 2 * n : n / 2) * (1 - zeros)))
                let reach = onCodes ? n * InputCodes.largest(delta: delta) : n
                let edges = [reach, reach + 1, reach + 2, -reach, -reach - 1, -reach - 2, Int(Int32.min), Int(Int32.max)]
                let t = b.addI32((0..<m).map { _ in
                    extremeThresholds && next() % 3 == 0 ? Int32(edges[int(0...7)]) : Int32(int(-spread...spread))
                }, dims: [m])
                let f = b.addU8((0..<m).map { _ in next() % 4 == 0 ? 1 : 0 }, dims: [m])
                b.addOp(.thresholdSign, [1, 1, m, t, f, 0])
            }
        }
        let scales: [Float] = [1, 2, 0.5, -1, 0]
        let outputScale = next() % 2 == 0 ? b.addF32((0..<classes).map { _ in Float(int(1...3)) }, dims: [classes]) + 1 : 0
        let scale = b.addF32((0..<classes).map { _ in scales[int(0...(next() % 3 == 0 ? 4 : 2))] }, dims: [classes])
        let shift = b.addF32((0..<classes).map { _ in Float(int(-4...4)) }, dims: [classes])
        b.addOp(.affine, [1, 1, classes, outputScale, scale, shift])
        b.addOp(.argmax, [classes])
        return b.build()
    }

    /// The image as a .bsm file.
    static func file(_ image: [UInt8]) -> [UInt8] {
        ModelFile(metadata: Array(#"{"format":"bitshield.model"}"#.utf8), image: image).encoded()
    }
}

/// The runtime over an image's bytes, for the oracle and the counterexample checks.
final class Runtime {
    let image: UnsafeMutableRawBufferPointer
    let arena: UnsafeMutableRawBufferPointer
    let interpreter: Interpreter

    init(_ bytes: [UInt8]) throws {
        let image = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { image.copyMemory(from: $0) }
        let modelImage = try ModelImage(bytes: UnsafeRawBufferPointer(image))
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Interpreter.arenaBytes(for: modelImage, kernels: .reference), alignment: 16)
        self.image = image
        self.arena = arena
        interpreter = try Interpreter(image: UnsafeRawBufferPointer(image), arena: arena, kernels: .reference)
    }

    deinit {
        image.deallocate()
        arena.deallocate()
    }

    func classify(_ pixels: [UInt8]) -> Int { pixels.withUnsafeBufferPointer { interpreter.invoke($0.baseAddress!) } }

    /// Every image the free pixels' levels make (each at its nearest pixel), or nil when they are more
    /// than `cap`; the first one the runtime does not give `label`, or none.
    func bruteForce(_ pixels: [UInt8], label: Int, budget: Int, delta: Int, cap: Int) -> (searched: Bool, counterexample: [UInt8]?) {
        let ranges = pixels.map { PixelBudget.levels(pixel: $0, budget: budget, delta: delta) }
        let free = ranges.indices.filter { ranges[$0].count > 1 }
        var total = 1
        for f in free { total *= ranges[f].count; if total > cap { return (false, nil) } }
        var x = pixels
        for var combination in 0..<total {
            for f in free {
                let r = ranges[f]
                x[f] = PixelBudget.nearest(pixels[f], level: r.lowerBound + combination % r.count, delta: delta)
                combination /= r.count
            }
            if classify(x) != label { return (true, x) }
        }
        return (true, nil)
    }
}
