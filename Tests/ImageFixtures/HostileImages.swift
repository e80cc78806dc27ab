import ModelFormat

/// Model images built for the hostile-input tests of both ModelFormatTests and InferenceTests (issue 12):
/// valid byte by byte, at or past the format's limits.
public enum HostileImages {
    /// A model on `h x w x 1` pixels: input_codes(δ) -> binary dense n = h·w -> 2 (row 0 all +1, row 1
    /// all -1, `bits` weights) -> affine (scale 1, shift 0) -> argmax; `codeBits` overrides the dense
    /// layer's code-bits parameter (default: the one δ needs).
    public static func wideDense(h: Int, w: Int, delta: Int = 8, codeBits: Int? = nil) -> [UInt8] {
        let n = h * w
        var b = ImageBuilder(inputHeight: h, inputWidth: w, inputChannels: 1, classes: 2)
        let words = BitPacking.words(n)
        var packed = [UInt64](repeating: 0, count: 2 * words)
        for j in 0..<words { packed[words + j] = j == words - 1 ? BitPacking.lastWordMask(n) : ~0 }
        let weights = b.addBits(packed, dims: [2, n])
        let scale = b.addF32([1, 1], dims: [2]), shift = b.addF32([0, 0], dims: [2])
        b.addOp(.inputCodes, [delta])
        b.addOp(.dense, [n, 2, weights, Int(InputKind.codes.rawValue), codeBits ?? InputCodes.codeBits(delta: delta), 0])
        b.addOp(.affine, [1, 1, 2, 0, scale, shift])
        b.addOp(.argmax, [2])
        return b.build()
    }

    /// An image at the format's table caps: 1 x 1 x 1 pixels, input_codes(8), a float dense 1 -> 2,
    /// 1,021 relus, argmax (1,024 ops); 4,095 more one-byte u8 tensors that nothing references (4,096
    /// tensors; allowed, spec/FORMAT.md). 448 KB.
    public static func largestTables() -> [UInt8] {
        var b = ImageBuilder(inputHeight: 1, inputWidth: 1, inputChannels: 1, classes: 2)
        let w = b.addF32([0.5, -0.5], dims: [2, 1])
        for i in 1..<ImageLayout.maxTensors { _ = b.addU8([UInt8(i & 0xff)], dims: [1]) }
        b.addOp(.inputCodes, [8])
        b.addOp(.dense, [1, 2, w, Int(InputKind.codes.rawValue), 8, 0])
        for _ in 2..<(ImageLayout.maxOps - 1) { b.addOp(.relu, [2]) }
        b.addOp(.argmax, [2])
        return b.build()
    }

    /// Issue 12, item 2: a `bits8` first layer on 2-bit codes over 170 x 400 pixels (68,000 inputs),
    /// m = 8 rows of mostly -1 weights (about 66,800 each: more than a u16 row count holds), then affine
    /// and argmax over the 8 rows. Weights from a fixed generator (the same image every time).
    public static let wideRows = (h: 170, w: 400, m: 8)
    public static func wideFirstLayer() -> [UInt8] {
        let (h, w, m) = wideRows
        let n = h * w
        var state: UInt64 = 12
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let signs = (0..<(m * n)).map { i -> Float in i % 97 == 0 ? 1 : (next() % 128 == 0 ? 1 : -1) }
        var b = ImageBuilder(inputHeight: h, inputWidth: w, inputChannels: 1, classes: m)
        let weights = b.addDense(BitPacking.pack(signs: signs, rows: m, n: n), rows: m, n: n, type: .bits8)
        let scale = b.addF32((0..<m).map { 1 + Float($0) / 8 }, dims: [m]), shift = b.addF32([Float](repeating: 0.5, count: m), dims: [m])
        b.addOp(.inputCodes, [2])
        b.addOp(.dense, [n, m, weights, Int(InputKind.codes.rawValue), 3, 0])
        b.addOp(.affine, [1, 1, m, 0, scale, shift])
        b.addOp(.argmax, [m])
        return b.build()
    }
}
