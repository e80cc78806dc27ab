// Input discretization, Panda, Chakraborty & Roy, Eq. 2:
//   I_delta = floor(I / (256 / 2^delta)) * (256 / 2^delta) + (256 / 2^delta) / 2
// on 8-bit pixels I, then divided by 255 (no mean/std normalization: the first BatchNorm absorbs it).
// In integers: level q = I >> (8 - delta), value (q + 1/2) * 2^(8 - delta) / 255. delta = 8 is the raw
// image (I / 255, no half-bin offset), as ARCHITECTURE.md defines it.
// Model inputs are pixels on the [0, 1] scale (I / 255); a fractional input (mid-attack) is first
// rounded to the nearest 8-bit pixel, so the quantizer always sees exactly what a stored uint8
// image would give. Backward: straight through (identity), as the paper's PyTorch code did.

/// The input quantizer of Eq. 2, a layer of the model so it can never be skipped.
public final class InputQuantizer: Layer {
    /// Input bits delta, 1...8.
    public let bits: Int

    /// A quantizer to `bits` bits (1...8).
    public init(bits: Int) {
        precondition((1...8).contains(bits), "input bits \(bits) outside 1...8")
        self.bits = bits
    }

    /// The value of 8-bit pixel `pixel` after quantization, on the [0, 1] scale.
    @inlinable public static func value(pixel: UInt8, bits: Int) -> Float {
        if bits == 8 { return Float(pixel) / 255 }
        let shift = 8 - bits
        let level = Int(pixel) >> shift
        return (Float(level << shift) + Float(1 << shift) / 2) / 255
    }

    /// The 256-entry lookup table pixel -> quantized value.
    public var table: [Float] { (0...255).map { InputQuantizer.value(pixel: UInt8($0), bits: bits) } }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        let t = table
        return x.map { v in
            let pixel = min(max((v * 255).rounded(), 0), 255)
            return t[Int(pixel)]
        }
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        inputGradient ? dy : nil
    }
}
