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
        let (oh, ow, c, w, s) = (output.height, output.width, output.channels, input.width, size)
        let (inSize, outSize) = (input.size, output.size)
        var argmax = [Int32](repeating: 0, count: 0)
        let y = x.data.withUnsafeBufferPointer { px in
            Matrix(rows: x.rows, cols: outSize) { py in
                argmax = [Int32](unsafeUninitializedCapacity: x.rows * outSize) { pa, initialized in
                    // Images are independent: both cores, half the batch each.
                    Parallel.forChunks(count: x.rows, minimum: 8) { lo, hi in
                        for b in lo..<hi {
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    // Every output value and index is written here (window positions outer,
                                    // channels inner: contiguous in NHWC).
                                    MaxPool2D.window(px.baseAddress! + b * inSize, width: w, channels: c, side: s,
                                                     at: (oy * s) * w + ox * s,
                                                     into: py.baseAddress! + b * outSize + (oy * ow + ox) * c,
                                                     argmax: pa.baseAddress! + b * outSize + (oy * ow + ox) * c)
                                }
                            }
                        }
                    }
                    initialized = x.rows * outSize
                }
            }
        }
        self.argmax = argmax
        return y
    }

    /// The maxima of one window for every channel and their offsets in the image (`image` points at the
    /// image's first value; the window's top-left pixel is `at`). Positions are visited row by row and a
    /// value replaces the best only when strictly greater, so ties (and a NaN) keep the first position.
    /// Eight channels at a time as SIMD selects; the remainder one by one, with the same rule.
    @inline(__always)
    static func window(_ image: UnsafePointer<Float>, width: Int, channels c: Int, side s: Int, at: Int,
                       into out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        var ch = 0
        while ch + 8 <= c {
            let first = at * c + ch
            var best = UnsafeRawPointer(image + first).loadUnaligned(as: SIMD8<Float>.self)
            var index = SIMD8<Int32>(repeating: Int32(first)) &+ lanes
            for dy in 0..<s {
                for dx in 0..<s where dy != 0 || dx != 0 {
                    let offset = (at + dy * width + dx) * c + ch
                    let v = UnsafeRawPointer(image + offset).loadUnaligned(as: SIMD8<Float>.self)
                    let better = v .> best
                    best.replace(with: v, where: better)
                    index.replace(with: SIMD8<Int32>(repeating: Int32(offset)) &+ lanes, where: better)
                }
            }
            UnsafeMutableRawPointer(out + ch).storeBytes(of: best, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(argmax + ch).storeBytes(of: index, as: SIMD8<Int32>.self)
            ch += 8
        }
        while ch < c {
            var best = image[at * c + ch]
            var index = at * c + ch
            for dy in 0..<s {
                for dx in 0..<s where dy != 0 || dx != 0 {
                    let offset = (at + dy * width + dx) * c + ch
                    if image[offset] > best { best = image[offset]; index = offset }
                }
            }
            out[ch] = best
            argmax[ch] = Int32(index)
            ch += 1
        }
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        let (inSize, outSize) = (input.size, output.size)
        // Every value is written: each image's gradient is zeroed just before its scatter (in cache, rather than
        // the whole batch's first: 8.6 MB for the first conv's maps).
        var dx = Matrix(rows: dy.rows, cols: input.size) { _ in }
        dy.data.withUnsafeBufferPointer { pd in
            argmax.withUnsafeBufferPointer { pa in
                dx.data.withUnsafeMutableBufferPointer { px in
                    // Each image scatters only into its own input gradient: both cores, half the batch each.
                    Parallel.forChunks(count: dy.rows, minimum: 8) { lo, hi in
                        for b in lo..<hi {
                            (px.baseAddress! + b * inSize).update(repeating: 0, count: inSize)
                            for j in 0..<outSize {
                                px[b * inSize + Int(pa[b * outSize + j])] += pd[b * outSize + j]
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
