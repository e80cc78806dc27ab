// The integer form of the paper's Eq. 2 (Panda, Chakraborty, Roy, "Discretization based Solutions for
// Secure Machine Learning against Adversarial Attacks"; spec/FORMAT.md, `input_codes`): a pixel p cut
// to δ bits has level q = p >> (8 − δ) and real value (q + 1/2) · 2^(8−δ) / 255, stored as the odd
// integer code 2q + 1 (unit 2^(8−δ) / 510). δ = 8 is the raw image: the code is the pixel (unit 1/255).
// This file is the one statement of that rule for the image reader, the runtime and the exporter.

/// The input quantizer's integer codes.
public enum InputCodes {
    /// The code of `pixel` at `delta` bits (1...8).
    @inlinable @inline(__always)
    public static func code(_ pixel: UInt8, delta: Int) -> UInt8 {
        delta == 8 ? pixel : 2 &* (pixel >> UInt8(truncatingIfNeeded: 8 &- delta)) &+ 1
    }

    /// The largest code at `delta` bits: 2^(δ+1) − 1 for δ < 8 (level 2^δ − 1), 255 for δ = 8.
    @inlinable
    public static func largest(delta: Int) -> Int { delta == 8 ? 255 : (1 << (delta + 1)) - 1 }

    /// The bits a code needs, which a `dense` or `conv2d` on codes states as its code-bits parameter:
    /// δ + 1 for δ < 8 (codes up to 2^(δ+1) − 1), 8 for δ = 8.
    @inlinable
    public static func codeBits(delta: Int) -> Int { delta == 8 ? 8 : delta + 1 }

    /// The largest |accumulator| a binary layer may reach: i32, so 2^31 − 1. A reader refuses a layer
    /// whose fan-in times its largest input exceeds it (spec/FORMAT.md, "Accumulator bound").
    @inlinable public static var accumulatorBound: Int { Int(Int32.max) }
}
