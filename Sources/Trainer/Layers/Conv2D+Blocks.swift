// The conv's products a block of images at a time. A whole batch's im2col patches (the second conv of the
// conv net: 100 x 121 x 288 floats, 14 MB) went to memory and back three times per step (written, packed
// by the BLAS forward, again for dL/dW) and its col2im input as often; a block of a few images' patches
// (at most `patchBlockFloats`) stays in the core's 2 MB L2 between being formed and being multiplied.
//
// The batch is split into two fixed halves (Parallel.forChunks: one per core), each walked in blocks of
// `imagesPerBlock` images from its first image; the backward pass sums dL/dW block by block within a half
// and then adds the halves, so the order of every sum is fixed by the batch size alone, whatever the number
// of workers. Against one product over the whole batch that re-associates dL/dW's sum over rows
// (ConvBlockTests states the tolerance); forward values and dL/dx are sums over one patch and keep their order.

extension Conv2D {
    /// Patch values a block holds at most by default (512 KB).
    static let defaultPatchBlockFloats = 1 << 17

    /// Images per block: as many whole images' patches as fit in `patchBlockFloats`, at least one.
    var imagesPerBlock: Int { max(1, patchBlockFloats / (output.height * output.width * fanIn)) }

    /// Calls `body(lo, hi, patches, dPatches)` for consecutive blocks of images `lo..<hi` of each half of
    /// `0..<batch`, the halves on both cores. `patches` holds a block's patch rows (and room for its
    /// `rows x outputs` scaled gradients); `dPatches` a block's patch gradients when `inputGradient`.
    func forEachBlock(images batch: Int, inputGradient: Bool = false,
                      _ body: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let group = imagesPerBlock
        let rows = min(group, batch) * output.height * output.width
        let (fan, outputs) = (fanIn, product.outputs)
        Parallel.forChunks(count: batch, minimum: 2) { lo, hi in
            let patches = UnsafeMutablePointer<Float>.allocate(capacity: rows * max(fan, outputs))
            let dPatches = UnsafeMutablePointer<Float>.allocate(capacity: inputGradient ? rows * fan : 0)
            defer { patches.deallocate(); dPatches.deallocate() }
            var b = lo
            while b < hi {
                let e = min(b + group, hi)
                body(b, e, patches, dPatches)
                b = e
            }
        }
    }

    /// Which half of the batch the block starting at image `lo` belongs to, and whether it is that half's first.
    func halfOf(block lo: Int, batch: Int) -> (half: Int, first: Bool) {
        guard batch >= 2 else { return (0, lo == 0) }
        let size = Parallel.chunkSize(count: batch)
        return lo < size ? (0, lo == 0) : (1, lo == size)
    }

    /// Patches of `images` consecutive images (`x` points at the first): row (b, oy, ox) holds
    /// x[b, oy + ky, ox + kx, c] in (ky, kx, c) order. Every value of the rows is written.
    func im2col(_ x: UnsafePointer<Float>, images: Int, into patches: UnsafeMutablePointer<Float>) {
        let (oh, ow, c, k, w) = (output.height, output.width, input.channels, kernel, input.width)
        let rowLength = k * c      // one kernel row of one patch is contiguous in NHWC
        var dst = patches
        for b in 0..<images {
            let image = x + b * input.size
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ky in 0..<k {
                        let src = image + ((oy + ky) * w + ox) * c
                        // A loop, not memmove: a call per 3 x 32-channel row measured no faster (perf).
                        for i in 0..<rowLength { dst[i] = src[i] }
                        dst += rowLength
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col` for `images` consecutive images: zeroes their input gradients (`dx` points at
    /// the first) and sums each patch entry back into its input position.
    func col2im(_ patches: UnsafePointer<Float>, images: Int, into dx: UnsafeMutablePointer<Float>) {
        let (oh, ow, c, k, w) = (output.height, output.width, input.channels, kernel, input.width)
        let rowLength = k * c
        dx.update(repeating: 0, count: images * input.size)
        var src = patches
        for b in 0..<images {
            let image = dx + b * input.size
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for ky in 0..<k {
                        let dst = image + ((oy + ky) * w + ox) * c
                        for i in 0..<rowLength { dst[i] += src[i] }
                        src += rowLength
                    }
                }
            }
        }
    }
}
