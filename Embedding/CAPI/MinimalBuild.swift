import Inference
import ModelFormat

// The minimal build (scripts/build-lib.sh TARGET-minimal: -D BITSHIELD_MINIMAL, -Osize) runs the layout
// for microcontrollers only: dense layers on `columns32` weights (spec/FORMAT.md). bitshield_init
// refuses any other weight layer with BITSHIELD_E_LAYOUT_NOT_BUILT, whose host message is the
// `convert --layout columns32` command that writes the model in that layout (issue 14, item 4; `--target mcu`
// writes columns32s, format version 4, which the minimal build leaves out).

/// Whether this library is the minimal build.
#if BITSHIELD_MINIMAL
public var isMinimalBuild: Bool { true }
#else
public var isMinimalBuild: Bool { false }
#endif

/// The refusal of the minimal build for `image` (validated): the first weight layer that is not a dense
/// layer on `columns32` weights (`columns32s` too), as BITSHIELD_E_LAYOUT_NOT_BUILT with the op, its weights' tensor type id
/// and its op id (a conv2d is refused whatever its weights: the minimal build has no conv kernel; a
/// maxpool2d, which has no weights, with type -1: nor a max-pool kernel); nil
/// when every layer runs.
public func minimalBuildRefusal(_ image: ModelImage) -> CError? {
    var k = 0
    while k < image.opCount {
        let kind = image.opKind(k)
        if kind == .maxpool2d {   // no max-pool kernel either (a dense model may hold a 1x1 one)
            return CError(code: CError.layoutNotBuilt, Int64(k), -1, Int64(kind.rawValue))
        }
        if kind == .dense || kind == .conv2d {
            let weights = kind == .dense ? image.opParameter(k, 2) : image.opParameter(k, 5)
            if kind == .conv2d || !image.isColumns(weights) || image.hasBounds(weights) {   // columns32s: not in this build
                return CError(code: CError.layoutNotBuilt, Int64(k), Int64(image.tensor(weights).type.rawValue), Int64(kind.rawValue))
            }
        }
        k += 1
    }
    return nil
}
