import ModelFormat

/// What the minimal runtime (`--device BOARD --minimal`; the C library's TARGET-minimal) can run: binary
/// dense layers on columns32 weights, and the ops around them, but no conv2d, maxpool2d or dense layer on
/// other weights (the firmware refuses those at init, ModelImage.opView under BITSHIELD_MINIMAL).
enum MinimalRuntime {
    /// Why `image` cannot run on the minimal runtime, naming what to do; nil when it can.
    static func refusal(_ image: ModelImage) -> String? {
        for k in 0..<image.opCount {
            let kind = image.opKind(k)
            let weights = kind == .dense ? image.opParameter(k, 2) : kind == .conv2d ? image.opParameter(k, 5) : -1
            if kind == .dense, image.isColumns(weights) && !image.hasBounds(weights) { continue }   // columns32s: not in the minimal build
            if kind == .dense, image.isBits(weights) {
                return "op \(k) is a dense layer on \(image.tensor(weights).type) weights; the minimal runtime runs columns32 ones "
                    + "only: convert the model for it with `convert MODEL.safetensors --layout columns32 -o MODEL.bsm`"
            }
            if kind == .dense || kind == .conv2d || kind == .maxpool2d {
                let what = kind == .dense ? "a dense layer on float weights" : kind == .conv2d ? "a conv2d layer" : "a maxpool2d"
                return "op \(k) is \(what), which the minimal runtime has no kernel for (it runs binary dense layers on "
                    + "columns32 weights only): run it without --minimal, or convert a binary dense model with "
                    + "`convert MODEL.safetensors --layout columns32 -o MODEL.bsm`"
            }
        }
        return nil
    }
}
