// 2-D convolution, stride 1, no padding ("valid"), by im2col and one matrix product per batch (the
// approach of Caffe and of llm.c's matmul-centred layers). Activations are NHWC: an image is
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
        let y = product.forward(im2col(x))        // [B*P, k*k*C] x [O, k*k*C]^T = [B*P, O] = [B, P*O]
        return Matrix(rows: x.rows, cols: output.size, data: y.data)
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        let batch = dy.rows
        let g = Matrix(rows: batch * output.height * output.width, cols: output.channels, data: dy.data)
        // dcolumns [B*P, k*k*C], scattered back to the input positions.
        return product.backward(g, inputGradient: inputGradient).map { col2im($0, batch: batch) }
    }

    /// Patches: row (b, oy, ox) holds x[b, oy + ky, ox + kx, c] in (ky, kx, c) order.
    func im2col(_ x: Matrix) -> Matrix {
        let (oh, ow, c, k, w) = (output.height, output.width, input.channels, kernel, input.width)
        let rowLength = k * c      // one kernel row of one patch is contiguous in NHWC
        let size = input.size, fan = fanIn
        // Every patch entry is written below, so the matrix is not zeroed first.
        return x.data.withUnsafeBufferPointer { px in
            Matrix(rows: x.rows * oh * ow, cols: fanIn) { pc in
                // Images are independent: both cores take half the batch each.
                Parallel.forChunks(count: x.rows, minimum: 8) { lo, hi in
                for b in lo..<hi {
                    let image = b * size
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var dst = ((b * oh + oy) * ow + ox) * fan
                            for ky in 0..<k {
                                let src = image + ((oy + ky) * w + ox) * c
                                for i in 0..<rowLength { pc[dst + i] = px[src + i] }
                                dst += rowLength
                            }
                        }
                    }
                }
                }
            }
        }
    }

    /// The adjoint of `im2col`: sums each patch entry back into its input position.
    func col2im(_ cols: Matrix, batch: Int) -> Matrix {
        let (oh, ow, c, k, w) = (output.height, output.width, input.channels, kernel, input.width)
        var dx = Matrix(rows: batch, cols: input.size)
        let rowLength = k * c
        let size = input.size, fan = fanIn
        cols.data.withUnsafeBufferPointer { pc in
            dx.data.withUnsafeMutableBufferPointer { px in
                // Each image writes only its own input gradient: both cores, half the batch each.
                Parallel.forChunks(count: batch, minimum: 8) { lo, hi in
                for b in lo..<hi {
                    let image = b * size
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var src = ((b * oh + oy) * ow + ox) * fan
                            for ky in 0..<k {
                                let dst = image + ((oy + ky) * w + ox) * c
                                for i in 0..<rowLength { px[dst + i] += pc[src + i] }
                                src += rowLength
                            }
                        }
                    }
                }
                }
            }
        }
        return dx
    }
}
