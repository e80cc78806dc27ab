// 2-D convolution, stride 1, no padding ("valid"), by im2col and matrix products (the approach of Caffe and
// of llm.c's matmul-centred layers), a few images at a time so the patches stay in cache
// (Conv2D+Blocks.swift). Activations are NHWC: an image is
// `[height, width, channels]` flattened, so a batch `[B, H*W*C]` viewed as `[B*H*W, C]` is what
// BatchNorm normalizes per channel. Weights are `[out, kh, kw, in]` flattened to `[out, kh*kw*in]`
// (PyTorch stores `[out, in, kh, kw]`; an importer must permute). The product, its output scales and
// gradients are WeightedProduct.swift, shared with Dense.
// Valid padding is a deliberate choice: a zero-padded border is neither +1 nor -1, which a binary
// runtime would have to correct for; BinaryNet pads with zeros.

/// Geometry of an NHWC feature map.
public struct FeatureMap: Codable, Equatable, Sendable {
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// Channels.
    public var channels: Int

    /// A feature-map shape.
    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Values per image.
    public var size: Int { height * width * channels }
}

/// `y[b, oy, ox, o] = sum_{ky, kx, c} x[b, oy + ky, ox + kx, c] * W[o, ky, kx, c]`.
public final class Conv2D: Layer {
    /// Input geometry.
    public let input: FeatureMap
    /// Output geometry.
    public let output: FeatureMap
    /// Kernel side.
    public let kernel: Int
    /// The weights (`[out, kernel, kernel, in]`) and their scaled product over im2col patches.
    public let product: WeightedProduct
    /// The last forward pass's input, whose patches the backward pass forms again block by block.
    var cachedInput = Matrix(rows: 0, cols: 0)
    /// Patch values a block of images holds at most (Conv2D+Blocks.swift; tests set it small).
    var patchBlockFloats = Conv2D.defaultPatchBlockFloats

    /// Float, binary or XNOR weights.
    public var kind: WeightQuantizer { product.kind }
    /// `[out, kernel, kernel, in]` latent weights.
    public var weight: Parameter { product.weight }

    /// Fan-in of one output value.
    public var fanIn: Int { kernel * kernel * input.channels }

    /// A layer initialised as PyTorch's `nn.Conv2d`: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    public init(name: String, input: FeatureMap, outputChannels: Int, kernel: Int, weights kind: WeightQuantizer,
                random: inout SeededRandom) {
        precondition(input.height >= kernel && input.width >= kernel, "kernel \(kernel) larger than the input \(input)")
        self.input = input
        self.kernel = kernel
        output = FeatureMap(height: input.height - kernel + 1, width: input.width - kernel + 1, channels: outputChannels)
        let fan = kernel * kernel * input.channels
        let bound = 1 / Float(fan).squareRoot()
        product = WeightedProduct(kind: kind, weight: Parameter(
            name: name + ".weight", shape: [outputChannels, kernel, kernel, input.channels],
            value: (0..<(fan * outputChannels)).map { _ in random.uniform(-bound, bound) }, decays: true, clip: kind.clip))
    }

    public var parameters: [Parameter] { [weight] }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(x.cols == input.size, "Conv2D expects \(input.size) values per image, got \(x.cols)")
        cachedInput = x
        product.prepareForward()
        let (inSize, outSize, patchRows) = (input.size, output.size, output.height * output.width)
        // y [B, P*O] is [B*P, O] = patches [B*P, k*k*C] x S^T, block by block; every value is written.
        return Matrix(rows: x.rows, cols: outSize) { py in
            x.data.withUnsafeBufferPointer { px in
                forEachBlock(images: x.rows) { lo, hi, patches, _ in
                    im2col(px.baseAddress! + lo * inSize, images: hi - lo, into: patches)
                    product.forwardBlock(patches, rows: (hi - lo) * patchRows, into: py.baseAddress! + lo * outSize)
                }
            }
        }
    }

    /// dL/dW = sum over blocks of dy^T patches (each half of the batch summed block by block, then the two
    /// halves added: a fixed order), and dL/dx = col2im(dy S), both a block of images at a time.
    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        let batch = dy.rows
        precondition(batch == cachedInput.rows && dy.cols == output.size, "Conv2D backward: dy \(dy.rows)x\(dy.cols) after a forward of \(cachedInput.rows) images")
        let weights = product.computesWeightGradient
        let (inSize, outSize, patchRows, fan) = (input.size, output.size, output.height * output.width, fanIn)
        let hSize = product.outputs * fan
        // One H per half of the batch (the chunks of forEachBlock), summed after.
        var halves = [Float](repeating: 0, count: weights ? 2 * hSize : 0)
        // Every value is written: col2im zeroes a block's images before summing into them.
        var dx = Matrix(rows: inputGradient ? batch : 0, cols: inSize) { _ in }
        cachedInput.data.withUnsafeBufferPointer { px in
            dy.data.withUnsafeBufferPointer { pd in
                halves.withUnsafeMutableBufferPointer { ph in
                    dx.data.withUnsafeMutableBufferPointer { pdx in
                        forEachBlock(images: batch, inputGradient: inputGradient) { lo, hi, patches, dPatches in
                            let rows = (hi - lo) * patchRows
                            let g = pd.baseAddress! + lo * outSize
                            if weights {
                                let (half, first) = halfOf(block: lo, batch: batch)
                                im2col(px.baseAddress! + lo * inSize, images: hi - lo, into: patches)
                                product.weightGradientBlock(dy: g, patches, rows: rows, into: ph.baseAddress! + half * hSize,
                                                            accumulate: !first)
                            }
                            if inputGradient {
                                product.inputGradientBlock(dy: g, rows: rows, into: dPatches, scratch: patches)
                                col2im(dPatches, images: hi - lo, into: pdx.baseAddress! + lo * inSize)
                            }
                        }
                    }
                }
            }
        }
        if weights {
            var h = Array(halves[0..<hSize])
            for i in 0..<hSize { h[i] += halves[hSize + i] }
            product.setWeightGradient(h)
        }
        return inputGradient ? dx : nil
    }
}
