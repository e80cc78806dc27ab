// The leaf stage's forward pass, selected once per search: PackedForward with Int16 margins where every
// layer's reach allows it (|margin| <= 2R + 2 <= 32,767: R <= 16,382), else with Int32 margins, the
// reference, which takes every network verify reads. The two give the same signs and classes bit for bit
// (LeafEnumerationTests); the narrow one adds each flipped input's column to twice as many units per
// vector instruction, which is most of the leaf stage's time. One place chooses, as Larq compute-engine
// selects its kernels in one function.

/// A PackedForward of the margin width `select` chose.
enum LeafForward {
    case narrow(PackedForward<Int16>)
    case wide(PackedForward<Int32>)

    /// The narrowest pass that holds `network`'s margins (`wide` forces the Int32 reference).
    static func select(_ network: BinaryNetwork, wide: Bool = false) -> LeafForward {
        let reach = PackedForward<Int32>.reach(network).max() ?? 0
        if !wide && 2 * reach + 2 <= Int(Int16.max) { return .narrow(PackedForward<Int16>(network: network)) }
        return .wide(PackedForward<Int32>(network: network))
    }
}
