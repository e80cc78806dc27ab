// The ε-ball in 8-bit pixel units, and what it means for a δ-bit input quantizer (the paper's Eq. 2,
// `InputCodes`): which levels a pixel can reach and the pixel nearest the clean one at each level.
// One statement of the rule for the attacks (`Trainer/Attacks`: every stored adversarial image stays
// inside the ball) and the verifier (`Verification`: the free pixels and their counterexamples).

/// The perturbation budget of an ε-ball on 8-bit images.
public enum PixelBudget {
    /// The largest per-pixel change in 8-bit units: floor(255 ε) in float32 (the trainer's and the tools'
    /// type for ε), with 1e-4 of slack against rounding below a whole number. Stored images stay inside
    /// the ball: |x' − x| ≤ this.
    @inlinable
    public static func units(epsilon: Float) -> Int { Int((255 * epsilon + 1e-4).rounded(.down)) }

    /// The δ-bit levels (p >> (8 − δ)) that pixel `pixel` reaches within `budget` units, inside [0, 255]:
    /// from the level of max(p − budget, 0) to that of min(p + budget, 255). Contiguous, and holds p's own level.
    @inlinable
    public static func levels(pixel: UInt8, budget: Int, delta: Int) -> ClosedRange<Int> {
        let p = Int(pixel), shift = 8 - delta
        return (max(p - budget, 0) >> shift)...(min(p + budget, 255) >> shift)
    }

    /// The pixel nearest `pixel` whose δ-bit level is `level`: the pixel itself at its own level, the
    /// level's lowest pixel above it, its highest below. Within the budget when `level` is in `levels`.
    @inlinable
    public static func nearest(_ pixel: UInt8, level: Int, delta: Int) -> UInt8 {
        let shift = 8 - delta, own = Int(pixel) >> shift
        if level == own { return pixel }
        return level > own ? UInt8(level << shift) : UInt8(((level + 1) << shift) - 1)
    }
}
