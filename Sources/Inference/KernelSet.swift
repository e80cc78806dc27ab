/// Which kernels `invoke` uses.
public enum KernelSet: Sendable, CaseIterable {
    /// Plain loops on +/-1 integers (the definition; slow).
    case reference
    /// The fastest kernels for this target (the default): `simd` where pointers are 64 bits,
    /// `carrySave` where they are 32 bits.
    case optimized
    /// SIMD8 popcount and bit-plane kernels, four images per pass over `bits8` weights (64-bit targets;
    /// fastest with a popcount instruction).
    case simd
    /// Harley-Seal carry-save counts on 32-bit words, one image at a time, with the bit counts of a
    /// first layer's weight rows kept in the arena's persistent region (CPUs without popcount: the
    /// Cortex-M firmware). Runs on every target, so host tests check it and hosts can plan a device's arena.
    case carrySave

    /// `optimized` made concrete for this target. Where pointers are 32 bits every fast kernel set is
    /// `carrySave` (so the SIMD kernels are compiled out of the firmware); elsewhere `optimized` is `simd`.
    @inlinable public var resolved: KernelSet { KernelSet.resolve(self) }

    /// `set.resolved` (for allocation-free callers in other files).
    @_noAllocation @inlinable public static func resolve(_ set: KernelSet) -> KernelSet {
        switch set {
        case .reference: return .reference
        #if _pointerBitWidth(_32)
        default: return .carrySave
        #else
        case .optimized: return .simd
        default: return set
        #endif
        }
    }

    /// The set's name on the command line (`infer --kernels`, `convert inspect --kernels`).
    public var name: String {
        switch self {
        case .reference: return "reference"
        case .optimized: return "optimized"
        case .simd: return "simd"
        case .carrySave: return "carry-save"
        }
    }
}
