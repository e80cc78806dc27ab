import ModelFormat

// Input discretization, Panda, Chakraborty & Roy, Eq. 2:
//   I_delta = floor(I / (256 / 2^delta)) * (256 / 2^delta) + (256 / 2^delta) / 2
// on 8-bit pixels I, then divided by 255 (no mean/std normalization: the first BatchNorm absorbs it).
// In integers: level q = I >> (8 - delta), value (q + 1/2) * 2^(8 - delta) / 255. delta = 8 is the raw
// image (I / 255, no half-bin offset), as ARCHITECTURE.md defines it.
//
// Exactness: the layer emits the integer code of each value, value = code * scale, with
//   code = 2q + 1 and scale = 2^(8 - delta) / 510   (delta < 8),   code = I and scale = 1/255 (delta = 8),
// and the first weight layer multiplies its output by `scale` (Dense/Conv2D `inputScale`). The model
// computes the same real function as Eq. 2, but the first layer's sum of codes times +/-1 weights is
// an integer, exact in float32 in any summation order, which is what lets an integer runtime match
// the trainer bit for bit.
// Model inputs are pixels on the [0, 1] scale (I / 255); a fractional input (mid-attack) is first
// rounded to the nearest 8-bit pixel, so the quantizer always sees exactly what a stored uint8 image
// would give. Backward: straight through in value space (d value / d input = 1, as the paper's PyTorch
// code did), so dL/dinput = dL/dcode / scale.

/// The input quantizer of Eq. 2, the first layer of every model so it can never be skipped.
public final class InputQuantizer: Layer {
    /// Input bits delta, 1...8.
    public let bits: Int
    /// Value of one code unit: value = code * scale.
    public let scale: Float

    /// A quantizer to `bits` bits (1...8).
    public init(bits: Int) {
        precondition((1...8).contains(bits), "input bits \(bits) outside 1...8")
        self.bits = bits
        scale = InputQuantizer.scale(bits: bits)
    }

    /// Value of one code unit for `bits` bits: 2^(8 - bits) / 510, or 1/255 for 8 bits.
    public static func scale(bits: Int) -> Float {
        bits == 8 ? 1 / 255 : Float(1 << (8 - bits)) / 510
    }

    /// The integer code of 8-bit pixel `pixel`: 2 * (pixel >> (8 - bits)) + 1, or the pixel for 8 bits
    /// (the rule is ModelFormat's `InputCodes`, shared with the runtime and the exporter).
    @inlinable public static func code(pixel: UInt8, bits: Int) -> Int { Int(InputCodes.code(pixel, delta: bits)) }

    /// The value of Eq. 2 (divided by 255) for 8-bit pixel `pixel`.
    public static func value(pixel: UInt8, bits: Int) -> Float {
        if bits == 8 { return Float(pixel) / 255 }
        let shift = 8 - bits
        let level = Int(pixel) >> shift
        return (Float(level << shift) + Float(1 << shift) / 2) / 255
    }

    /// The 256-entry lookup table pixel -> code (as a float).
    public var table: [Float] { (0...255).map { Float(InputQuantizer.code(pixel: UInt8($0), bits: bits)) } }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        let t = table
        return x.map { v in
            let pixel = min(max((v * 255).rounded(), 0), 255)
            return t[Int(pixel)]
        }
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        let inverse = 1 / scale
        return dy.map { $0 * inverse }
    }
}
