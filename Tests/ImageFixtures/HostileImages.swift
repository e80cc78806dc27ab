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
}
