import ArgumentParser
import Trainer

/// `convert --target`: where a model will run, named instead of its weight layout. The one mapping from
/// targets to layouts: hosts (64-bit, popcount) run `bits8` on the SIMD kernels; microcontrollers
/// (32-bit Cortex-M, no popcount) run `columns32s` on the column kernels (docs/EMBEDDING.md): `columns32`
/// with the hidden layers' threshold bounds (format version 4; a model without such a layer gets plain
/// `columns32`, version 3).
enum DeploymentTarget: String, CaseIterable, ExpressibleByArgument {
    case host, mcu

    /// The binary dense layout this target's fastest kernels read.
    var denseLayout: DenseLayout {
        switch self {
        case .host: return .bits8
        case .mcu: return .columns32s
        }
    }
}
