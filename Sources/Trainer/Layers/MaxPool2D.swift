// 2x2 max-pooling with stride 2 over NHWC feature maps (odd trailing rows and columns are dropped, as
// PyTorch's MaxPool2d(2) does). The gradient goes to the first maximum of each window.

/// Max over non-overlapping `size x size` windows of each channel.
public final class MaxPool2D: Layer {
    /// Input geometry.
    public let input: FeatureMap
    /// Output geometry.
    public let output: FeatureMap
    /// Window side and stride.
    public let size: Int
    private var argmax: [Int32] = []

    /// A pooling layer over `input` with `size x size` windows.
    public init(input: FeatureMap, size: Int = 2) {
        self.input = input
        self.size = size
        output = FeatureMap(height: input.height / size, width: input.width / size, channels: input.channels)
    }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(x.cols == input.size, "MaxPool2D expects \(input.size) values per image, got \(x.cols)")
        var y = Matrix(rows: x.rows, cols: output.size)
        argmax = [Int32](repeating: 0, count: x.rows * output.size)
        let (oh, ow, c, w, s) = (output.height, output.width, output.channels, input.width, size)
        let (inSize, outSize) = (input.size, output.size)
        x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeMutableBufferPointer { py in
                argmax.withUnsafeMutableBufferPointer { pa in
                    // Images are independent: both cores, half the batch each.
                    Parallel.forChunks(count: x.rows, minimum: 8) { lo, hi in
                    for b in lo..<hi {
                        let image = b * inSize
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                // Window positions outer, channels inner: contiguous in NHWC, so it vectorizes.
                                let out = b * outSize + (oy * ow + ox) * c
                                let first = image + ((oy * s) * w + ox * s) * c
                                for ch in 0..<c {
                                    py[out + ch] = px[first + ch]
                                    pa[out + ch] = Int32(first - image + ch)
                                }
                                for dy in 0..<s {
                                    for dx in 0..<s where dy != 0 || dx != 0 {
                                        let at = image + ((oy * s + dy) * w + ox * s + dx) * c
                                        for ch in 0..<c where px[at + ch] > py[out + ch] {
                                            py[out + ch] = px[at + ch]
                                            pa[out + ch] = Int32(at - image + ch)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        var dx = Matrix(rows: dy.rows, cols: input.size)
        for b in 0..<dy.rows {
            for j in 0..<output.size {
                dx.data[b * input.size + Int(argmax[b * output.size + j])] += dy.data[b * output.size + j]
            }
        }
        return dx
    }
}
