import ModelFormat

// How many ops the model image of a configuration holds, from the numbers alone, so a network the
// exporter could never write (the format holds at most `ImageLayout.maxOps` = 1,024 ops) is refused by
// `validate()`, before training, rather than by `convert` after it. It mirrors ImageExport.image(of:),
// block by block (the tests compare the two for binary, XNOR, float, FCN and conv configurations):
//   input_codes                                                  1
//   conv block:  conv2d, maxpool2d, threshold_sign (binary)      3
//                conv2d, maxpool2d, affine, activation (float)   4
//   hidden dense: dense, threshold_sign (binary)                 2
//                 dense, affine, activation (float; and a binary net's last hidden block
//                 before a float last layer, which keeps its hardtanh)  3
//   last dense:  dense, affine (BatchNorm, or XNOR's scale)      2
//                dense with bias (floatLastLayer)                1
//   argmax                                                       1
// So a binary FCN holds 2 x depth + 4 ops: at most 510 hidden layers; a float one 3 x depth + 4: 340.

extension ModelConfig {
    /// The number of ops `ImageExport.image(of:)` writes for a network of this configuration.
    public var exportedOpCount: Int {
        let binary = precision != .float
        let floatLast = binary && floatLastLayer
        var ops = 1                                                           // input_codes
        if architecture == .conv { ops += convChannels.count * (binary ? 3 : 4) }
        for i in 0..<hidden.count {
            let keepsHardTanh = floatLast && i == hidden.count - 1
            ops += binary && !keepsHardTanh ? 2 : 3
        }
        ops += floatLast ? 1 : 2                                              // the last dense layer
        return ops + 1                                                        // argmax
    }

    /// Refuses a configuration whose image would hold more ops than the format allows, with both numbers.
    func checkOpCount() throws(TrainerError) {
        let ops = exportedOpCount
        guard ops <= ImageLayout.maxOps else {
            let perLayer = precision == .float ? 3 : 2
            throw .invalidConfig("\(hidden.count) hidden layers and \(convChannels.count) conv blocks make a model image of \(ops) ops; "
                                 + "the model format holds at most \(ImageLayout.maxOps) (\(perLayer) ops per \(precision.rawValue) hidden layer)")
        }
    }
}
