import ModelFormat

// Network -> model image (spec/FORMAT.md). Binary blocks (weight layer [-> max-pool] -> BatchNorm ->
// sign) become a weight op on packed bits (a ternary dense layer: two +/-1 planes, BitPacking+Ternary.swift,
// format version 5) [-> maxpool on accumulators] -> threshold_sign with the BatchNorm and the layer's
// output scale (input unit, XNOR alpha) folded in (ThresholdFolding.swift).
// The last block becomes weight op -> affine (output scale, BatchNorm) -> argmax. Float nets keep
// float weights, an affine per BatchNorm and their activation. Dropout is the identity in evaluation.

/// How binary dense weights are stored (spec/FORMAT.md): the runtime picks its kernels by the layout.
public enum DenseLayout: String, CaseIterable, Sendable {
    /// Rows interleaved in blocks of eight: SIMD popcount kernels, the fastest on 64-bit hosts.
    case bits8
    /// Columns in lanes of 32 rows with row counts: column-sum kernels, the fastest on 32-bit
    /// microcontrollers without popcount (the Cortex-M firmware).
    case columns32
    /// `columns32`, and `columns32s` (format version 4) for each dense layer on packed bits followed by
    /// BatchNorm and sign: its threshold bounds bit-sliced after the columns, so the Cortex-M4's kernel
    /// reads the signs off its counter (no per-row compare). The microcontrollers' layout (`--target mcu`).
    case columns32s
}

/// Exports trained networks to the model image.
public enum ImageExport {
    /// The image of `network` in evaluation mode, with binary dense weights in `denseLayout`.
    public static func image(of network: Network, denseLayout: DenseLayout = .bits8) throws(TrainerError) -> [UInt8] {
        let config = network.config
        var b = ImageBuilder(inputHeight: config.input.height, inputWidth: config.input.width,
                             inputChannels: config.input.channels, classes: config.classes)
        let layers = network.layers.filter { !($0 is Dropout) }
        guard let quantizer = layers.first as? InputQuantizer else {
            throw .invalidConfig("a network must start with its input quantizer")
        }
        b.addOp(.inputCodes, [quantizer.bits])
        // What the next weight layer reads: codes first, then bits or f32.
        var inputKind = InputKind.codes
        var codeBits = InputCodes.codeBits(delta: quantizer.bits)
        var largestInput = InputCodes.largest(delta: quantizer.bits)
        var map = Activation(kind: .codes, height: config.input.height, width: config.input.width, channels: config.input.channels)
        var i = 1
        while i < layers.count {
            // A weight layer.
            let product: WeightedProduct
            let isConv: Bool
            var outMap: Activation
            var bias: [Float]? = nil
            if let d = layers[i] as? Dense {
                product = d.product
                isConv = false
                bias = d.bias?.value
                outMap = Activation(kind: .i32, height: 1, width: 1, channels: d.outputs)
            } else if let c = layers[i] as? Conv2D {
                product = c.product
                isConv = true
                outMap = Activation(kind: .i32, height: c.output.height, width: c.output.width, channels: c.output.channels)
            } else {
                throw .invalidConfig("cannot export layer \(i) (\(type(of: layers[i]))) here: expected a dense or conv layer")
            }
            let binary = product.kind != .float
            let ternary = product.kind == .ternary
            if ternary && isConv {
                throw .invalidConfig("layer \(i) is a conv layer with ternary weights: the model format stores ternary weights for dense layers only")
            }
            let m = product.outputs
            let weightIndex: Int
            var lowerIndex: Int? = nil       // a ternary dense layer's lower plane (op parameter p6 - 1)
            if binary {
                let signs = product.forwardWeights().data
                let rowLength = isConv ? map.channels : product.fanIn
                if isConv {
                    let k = (layers[i] as! Conv2D).kernel
                    weightIndex = b.addBits(BitPacking.pack(signs: signs, rows: signs.count / rowLength, n: rowLength),
                                            dims: [m, k, k, map.channels])
                } else if ternary {
                    // Two +/-1 planes in one layout; never columns32s (its bounds describe one plane's sums).
                    let planes = BitPacking.ternaryPlanes(signs)
                    let layout = denseLayout == .columns32s ? .columns32 : denseLayout
                    weightIndex = try addDenseWeights(planes.upper, rows: m, n: rowLength, layout: layout, layer: i, to: &b)
                    lowerIndex = try addDenseWeights(planes.lower, rows: m, n: rowLength, layout: layout, layer: i, to: &b)
                } else {
                    weightIndex = try addDenseWeights(signs, rows: m, n: rowLength, layout: denseLayout, layer: i, to: &b)
                }
            } else {
                try finite(product.weight.value, "layer \(i) weights")
                weightIndex = b.addF32(product.weight.value,
                                       dims: isConv ? [m, (layers[i] as! Conv2D).kernel, (layers[i] as! Conv2D).kernel, map.channels] : [m, product.fanIn])
                outMap.kind = .f32
            }
            let biasIndex = try bias.map { values throws(TrainerError) -> Int in
                guard !binary else { throw .invalidConfig("a binary layer with a bias cannot be exported") }
                try finite(values, "layer \(i) bias")
                return b.addF32(values, dims: [m])
            }
            if isConv {
                let conv = layers[i] as! Conv2D
                b.addOp(.conv2d, [map.height, map.width, map.channels, conv.kernel, m, weightIndex, Int(inputKind.rawValue),
                                  inputKind == .codes ? codeBits : 0])
            } else {
                b.addOp(.dense, [product.fanIn, m, weightIndex, Int(inputKind.rawValue), inputKind == .codes ? codeBits : 0,
                                 biasIndex.map { $0 + 1 } ?? 0, lowerIndex.map { $0 + 1 } ?? 0])
            }
            let range = product.fanIn * largestInput
            // The format's accumulator bound (spec/FORMAT.md): the runtime sums in i32 (a ternary layer the sum
            // of its two planes' accumulators), and the folded thresholds are i32 too.
            let planes = ternary ? 2 : 1
            if binary && range > InputCodes.accumulatorBound / planes {
                throw .invalidConfig("layer \(i) has \(planes == 2 ? "2 weight planes x " : "")fan-in \(product.fanIn) x largest input \(largestInput), past the model format's accumulator bound \(InputCodes.accumulatorBound) (at most \(InputCodes.accumulatorBound / planes / largestInput) inputs)")
            }
            i += 1
            if i < layers.count, let pool = layers[i] as? MaxPool2D {
                b.addOp(.maxpool2d, [outMap.height, outMap.width, outMap.channels, pool.size])
                outMap.height = pool.output.height
                outMap.width = pool.output.width
                i += 1
            }
            let pooled = i > 0 && layers[i - 1] is MaxPool2D
            let outputScale = product.outputScales()
            let bn = i < layers.count ? layers[i] as? BatchNorm : nil
            if bn != nil { i += 1 }
            let activation = i < layers.count && !(layers[i] is Dense) && !(layers[i] is Conv2D) ? layers[i] : nil
            if activation != nil { i += 1 }
            let nextIsConv = i < layers.count && layers[i] is Conv2D
            let (h, w, c) = (outMap.height, outMap.width, outMap.channels)
            if let outputScale { try finite(outputScale, "layer \(i) output scale") }
            if binary, let bn, activation is SignActivation {
                // Checked like the float path's: a NaN or infinite scale would fold into a constant threshold.
                let (scale, shift) = try affine(of: bn, layer: i)
                var thresholds: [Int32] = [], flips: [UInt8] = []
                for ch in 0..<c {
                    switch ThresholdFolding.verifiedFold(c: outputScale?[ch], scale: scale[ch], shift: shift[ch], range: range) {
                    case let .success(f):
                        thresholds.append(f.threshold)
                        flips.append(f.flip)
                    case let .failure(m):
                        throw .unfoldableThreshold(layer: i, channel: ch, accumulator: m.accumulator, value: m.value,
                                                   threshold: m.threshold, flip: m.flip)
                    }
                }
                if denseLayout == .columns32s && !isConv && inputKind == .bits && !pooled && lowerIndex == nil {
                    b.addBounds(to: weightIndex, thresholds: thresholds)   // its threshold_sign follows the dense op
                }
                let t = b.addI32(thresholds, dims: [c]), f = b.addU8(flips, dims: [c])
                let layout: BitLayout = nextIsConv ? .pixel : .flat
                b.addOp(.thresholdSign, [h, w, c, t, f, Int(layout.rawValue)])
                map = Activation(kind: .bits, height: h, width: w, channels: c, layout: layout)
                inputKind = .bits
                codeBits = 0
                largestInput = 1
                continue
            }
            // Float path, or a binary last layer: affine (output scale and BatchNorm), then the activation.
            if bn != nil || outputScale != nil {
                let (scale, shift) = try bn.map { bn throws(TrainerError) in try affine(of: bn, layer: i) }
                    ?? ([Float](repeating: 1, count: c), [Float](repeating: 0, count: c))
                let cIndex = outputScale.map { b.addF32($0, dims: [c]) + 1 } ?? 0
                // Without a BatchNorm the affine is only the output scale (scale 1 and shift 0 are exact).
                let s = b.addF32(scale, dims: [c]), t = b.addF32(shift, dims: [c])
                b.addOp(.affine, [h, w, c, cIndex, s, t])
            }
            switch activation {
            case nil: break
            case is HardTanh: b.addOp(.hardtanh, [h * w * c])
            case is ReLU: b.addOp(.relu, [h * w * c])
            case let a?:
                throw .invalidConfig("cannot export activation \(type(of: a)) after a \(binary ? "binary" : "float") layer")
            }
            map = Activation(kind: .f32, height: h, width: w, channels: c)
            inputKind = .f32
            codeBits = 0
            largestInput = 1
            if activation == nil {
                guard i == layers.count else { throw .invalidConfig("layers after the last block cannot be exported") }
            }
        }
        guard map.kind == .f32, map.count == config.classes else {
            throw .invalidConfig("the network must end in \(config.classes) real-valued outputs")
        }
        b.addOp(.argmax, [config.classes])
        return b.build()
    }

    /// Adds binary dense weights (`rows` x `n` values +/-1) packed by `BitPacking.pack` in `layout`'s tensor type
    /// (`bits8`, or `columns32` for both column layouts: `columns32s` is made from a `columns32` tensor later);
    /// returns the tensor's index.
    static func addDenseWeights(_ signs: [Float], rows: Int, n: Int, layout: DenseLayout, layer i: Int,
                                to b: inout ImageBuilder) throws(TrainerError) -> Int {
        let packed = BitPacking.pack(signs: signs, rows: rows, n: n)
        switch layout {
        case .bits8:   // the host's kernel takes eight outputs per vector
            return b.addDense(packed, rows: rows, n: n, type: .bits8)
        case .columns32, .columns32s:   // the microcontroller's kernel adds 32 rows per word
            guard n <= BitPacking.maxColumns else {
                throw .invalidConfig("layer \(i) has \(n) inputs; the columns32 layout holds at most \(BitPacking.maxColumns) (use bits8)")
            }
            return b.addDense(packed, rows: rows, n: n, type: .columns32)
        }
    }

    /// `bn`'s evaluation-mode scale and shift, refused unless finite (each can overflow from finite
    /// statistics: a huge gamma over a tiny variance), named as the checkpoint names the BatchNorm
    /// (bn0, ...) and by its layer index.
    static func affine(of bn: BatchNorm, layer i: Int) throws(TrainerError) -> (scale: [Float], shift: [Float]) {
        let (scale, shift) = bn.evalAffine()
        let name = String(bn.gamma.name.dropLast(".weight".count))
        try finite(scale, "\(name) (layer \(i)) scale gamma / sqrt(var + eps)")
        try finite(shift, "\(name) (layer \(i)) shift beta - mean * scale")
        return (scale, shift)
    }

    /// The format holds finite f32 values only (spec/FORMAT.md): a value that overflowed in folding
    /// (BatchNorm's gamma / sqrt(var + eps) with a huge gamma, say) is refused here, naming the layer and
    /// the channel, rather than by the reader of the finished image.
    static func finite(_ values: [Float], _ what: @autoclosure () -> String) throws(TrainerError) {
        if let k = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidConfig("\(what()) is \(values[k]) at index \(k): the model format holds finite values only (a value overflowed Float)")
        }
    }
}
