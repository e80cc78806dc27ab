// The shapes of an imported BinaryNet.pytorch model, checked before anything is built, and its weights
// and BatchNorm statistics copied into the BitShield network with the folds of BinaryNetImport.swift.
// PyTorch keeps conv weights as [out, in, kh, kw] and flattens NCHW maps (index c*H*W + h*W + w); BitShield
// keeps [out, kh, kw, in] and flattens NHWC ((h*W + w)*C + c): both are permuted here.

extension BinaryNetImport {
    /// What the weight shapes say: the input, the conv blocks, the Linear widths (the last: classes).
    struct Shapes {
        var input: FeatureMap
        var convChannels: [Int] = []
        var kernel = 3
        var dense: [Int] = []
        /// Conv nets: the map the first Linear flattens (PyTorch's NCHW order, permuted to NHWC).
        var flattened: FeatureMap?
    }

    /// The input geometry the import knows for `channels` grey or colour channels (MNIST, CIFAR).
    static func knownInput(channels: Int) -> FeatureMap? {
        channels == 1 ? FeatureMap(height: 28, width: 28, channels: 1) : channels == 3 ? FeatureMap(height: 32, width: 32, channels: 3) : nil
    }

    static func shapes(_ blocks: [Block], file: SafeTensorsFile, fail: (String) -> TrainerError) throws(TrainerError) -> Shapes {
        func weight(_ b: Block) -> NamedArray { file.tensor(b.layer.prefix + ".weight")! }
        let first = weight(blocks[0])
        var shapes: Shapes
        if blocks[0].layer.kind == .conv {
            guard let input = knownInput(channels: first.shape[1]) else {
                throw fail("'\(first.name)' has shape \(first.shape): a first conv on \(first.shape[1]) channels; the import knows 1 (28x28, MNIST) and 3 (32x32, CIFAR)")
            }
            shapes = Shapes(input: input)
            shapes.kernel = first.shape[2]
        } else {
            guard let input = [784: knownInput(channels: 1)!, 3072: knownInput(channels: 3)!][first.shape[1]] else {
                throw fail("'\(first.name)' takes \(first.shape[1]) inputs: the import knows 784 (28x28x1, MNIST) and 3072 (32x32x3, CIFAR)")
            }
            shapes = Shapes(input: input)
        }
        var map = shapes.input
        var width = map.size
        for b in blocks {
            let w = weight(b)
            let out = w.shape[0]
            guard out >= 1 else { throw fail("'\(w.name)' has shape \(w.shape): no outputs") }
            if b.layer.kind == .conv {
                guard w.shape[2] == w.shape[3], w.shape[2] == shapes.kernel else {
                    throw fail("'\(w.name)' has shape \(w.shape): every conv must have the same square kernel (\(shapes.kernel)x\(shapes.kernel) first)")
                }
                guard w.shape[1] == map.channels else {
                    throw fail("'\(w.name)' takes \(w.shape[1]) channels, the map before it has \(map.channels)")
                }
                let side = (map.height - shapes.kernel + 1, map.width - shapes.kernel + 1)
                guard side.0 >= 2, side.1 >= 2 else {
                    throw fail("'\(w.name)': a \(shapes.kernel)x\(shapes.kernel) conv and 2x2 pool on a \(map.height)x\(map.width) map leave nothing")
                }
                map = FeatureMap(height: side.0 / 2, width: side.1 / 2, channels: out)
                width = map.size
                shapes.convChannels.append(out)
            } else {
                guard w.shape[1] == width else {
                    let from = shapes.dense.isEmpty ? (shapes.convChannels.isEmpty ? "the input has" : "the last conv block gives \(map.height)x\(map.width)x\(map.channels) =")
                                                    : "the layer before gives"
                    throw fail("'\(w.name)' takes \(w.shape[1]) inputs, \(from) \(width)")
                }
                if shapes.dense.isEmpty && !shapes.convChannels.isEmpty { shapes.flattened = map }
                shapes.dense.append(out)
                width = out
            }
            // Every bias and BatchNorm tensor has one value per output channel, checked before anything
            // is built: the exporter would write what the reader refuses.
            var names = [b.layer.prefix + ".bias"]
            if let norm = b.norm { names += ["weight", "bias", "running_mean", "running_var"].map { norm.prefix + "." + $0 } }
            for name in names {
                guard let t = file.tensor(name) else { continue }
                guard t.values.count == out else {
                    let what = b.layer.prefix == blocks.last!.layer.prefix ? "\(out) classes (\(w.name) has \(out) rows)" : "'\(b.layer.prefix)' has \(out) outputs"
                    throw fail("'\(name)' has \(t.values.count) values (shape \(t.shape)), but \(what)")
                }
            }
        }
        return shapes
    }

    /// Copies the weights (permuted to BitShield's order) and the folded BatchNorm statistics into `net`.
    static func fill(_ net: Network, blocks: [Block], file: SafeTensorsFile, options: Options, permuteFirstDense map: FeatureMap?) throws(TrainerError) {
        let convs = net.layers.compactMap { $0 as? Conv2D }, dense = net.layers.compactMap { $0 as? Dense }
        let norms = net.layers.compactMap { $0 as? BatchNorm }
        func values(_ name: String) -> [Float]? { file.tensor(name)?.values }
        for (i, b) in blocks.enumerated() {
            let theirs = values(b.layer.prefix + ".weight")!
            let n = b.layer.kind == .conv ? convs[i].output.channels : dense[i - convs.count].weight.shape[0]
            if b.layer.kind == .conv {
                let conv = convs[i], k = conv.kernel, c = conv.input.channels
                for o in 0..<n { for y in 0..<k { for x in 0..<k { for ch in 0..<c {
                    conv.weight.value[((o * k + y) * k + x) * c + ch] = theirs[((o * c + ch) * k + y) * k + x]
                } } } }
            } else if i == convs.count, let map = map {
                let d = dense[0], (h, w, c) = (map.height, map.width, map.channels)
                for o in 0..<n { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
                    d.weight.value[o * map.size + (y * w + x) * c + ch] = theirs[o * map.size + ch * h * w + y * w + x]
                } } } }
            } else {
                dense[i - convs.count].weight.value = theirs
            }
            let bias = values(b.layer.prefix + ".bias") ?? [Float](repeating: 0, count: n)
            guard i < norms.count else {   // the real last layer: its weights and bias as they are
                dense[i - convs.count].bias!.value = bias
                break
            }
            let bn = norms[i]
            let fanIn = theirs.count / n
            let a: Float = i == 0 ? 1 / options.std : 1
            let gamma = b.norm.flatMap { values($0.prefix + ".weight") } ?? [Float](repeating: 1, count: n)
            let beta = b.norm.flatMap { values($0.prefix + ".bias") } ?? [Float](repeating: 0, count: n)
            let mu = b.norm.flatMap { values($0.prefix + ".running_mean") } ?? [Float](repeating: 0, count: n)
            let variance = b.norm.flatMap { values($0.prefix + ".running_var") } ?? [Float](repeating: identityVariance(bn.epsilon), count: n)
            for o in 0..<n {
                var c = bias[o]
                if i == 0 {
                    var rowSum: Float = 0
                    for k in 0..<fanIn { rowSum += binarySign(theirs[o * fanIn + k]) }
                    c -= options.mean / options.std * rowSum
                }
                bn.gamma.value[o] = gamma[o] * a
                bn.beta.value[o] = beta[o]
                bn.runningMean.value[o] = (mu[o] - c) / a
                bn.runningVar.value[o] = variance[o]
            }
        }
    }

    /// The variance v with v + eps == 1 in float32, so an identity BatchNorm's scale is exactly 1.
    static func identityVariance(_ eps: Float) -> Float {
        var v: Float = 1 - eps
        while v + eps < 1 { v = v.nextUp }
        while v + eps > 1 { v = v.nextDown }
        return v
    }
}
