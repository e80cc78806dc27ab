import ModelFormat

// The first binary conv, on δ-bit input codes formed from the pixels, for every non-reference kernel
// set: written for the Cortex-M firmware, and on the x86-64 host about 8x fewer ns than the row loop it
// replaced there (which formed each code once per filter). Reference: BinaryConvKernel.referenceCodes
// (BinaryConv.swift, after InputCodesKernel).

/// A binary conv on pixels turned into codes here, by bit-planes of the receptive field: with
/// W_o the set of patch positions where filter o's weight is -1 (bit 1) and P_b the positions
/// whose code has bit b set,
///   A_o = sum_i code_i s_oi = T - 2 sum_b 2^b popcount(P_b & W_o),   T = sum_i code_i,
/// so each output pixel forms its k k c codes once (T and the planes P_b as 32-bit masks over the
/// patch, position (ky k + kx) c + i), and each filter costs one AND and one popcount per plane and
/// mask word, not k k c code-times-sign steps. For δ < 8 the code 2q + 1 has bit 0 set everywhere:
/// popcount(P_0 & W_o) is popcount(W_o), counted once. The filters' masks are gathered from the bits
/// weights (`[m, k, k, words(c)]`) into the scratch at the start of each run (m k k c bit reads: the
/// weights of a first layer are few), so no layout changes.
public enum PlaneConv32Kernel {
    /// 32-bit mask words over a k x k x c patch.
    @_noAllocation @inlinable static func maskWords(patch: Int) -> Int { (patch &+ 31) >> 5 }

    /// Scratch bytes for m filters over a patch of `patch` = k k c inputs on codes of `bits` input bits:
    /// accumulators and weight counts (4 m each), the filters' masks (4 m words), the patch's planes.
    @_noAllocation @inlinable public static func scratchBytes(m: Int, patch: Int, bits: Int) -> Int {
        let words = maskWords(patch: patch)
        return 8 &* m &+ 4 &* words &* (m &+ PixelPlanes.count(bits: bits))
    }

    /// Runs the conv (h x w x c pixels, codes of `bits` input bits -> oh x ow x m), pools by `pool`
    /// (1: none), and hands each output to `sink`. 2-bit codes (the paper's usual δ) run a copy of the
    /// loops with δ known, whose two planes are counted together (`twoPlanes`).
    @_noAllocation @inline(never)
    public static func run(_ p: UnsafePointer<UInt8>, bits: Int, h: Int, w: Int, c: Int, k: Int, weights: UnsafePointer<UInt64>, m: Int,
                           pool: Int, scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        let words = maskWords(patch: k &* k &* c)
        let accumulators = scratch.assumingMemoryBound(to: Int32.self)
        let counts = accumulators + m
        let masks = UnsafeMutableRawPointer(counts + m).assumingMemoryBound(to: UInt32.self)
        gatherMasks(weights, c: c, k: k, m: m, words: words, masks: masks, counts: counts)
        if bits == 2 {
            pooled(p, bits: 2, two: true, h: h, w: w, c: c, k: k, m: m, pool: pool, scratch: scratch, sink: sink)
        } else {
            anyBits(p, bits: bits, h: h, w: w, c: c, k: k, m: m, pool: pool, scratch: scratch, sink: sink)
        }
    }

    /// `pooled` for codes of other than 2 bits, plane by plane, compiled for size (first convs on 1-, 3- to
    /// 8-bit codes are rare; the firmware carries this copy beside the 2-bit one).
    @_noAllocation @inline(never) @_optimize(size)
    static func anyBits(_ p: UnsafePointer<UInt8>, bits: Int, h: Int, w: Int, c: Int, k: Int, m: Int,
                        pool: Int, scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        pooled(p, bits: bits, two: false, h: h, w: w, c: c, k: k, m: m, pool: pool, scratch: scratch, sink: sink)
    }

    /// `run`'s loops over the pooled outputs, the masks gathered; `two`: the codes have 2 input bits.
    @_noAllocation @inline(__always)
    static func pooled(_ p: UnsafePointer<UInt8>, bits: Int, two: Bool, h: Int, w: Int, c: Int, k: Int, m: Int,
                       pool: Int, scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        let (ph, pw) = ((h - k + 1) / pool, (w - k + 1) / pool)
        let words = maskWords(patch: k &* k &* c), planes = PixelPlanes.count(bits: bits), first = bits < 8 ? 1 : 0
        let accumulators = scratch.assumingMemoryBound(to: Int32.self)
        let counts = accumulators + m
        let masks = UnsafeMutableRawPointer(counts + m).assumingMemoryBound(to: UInt32.self)
        let patch = masks + m &* words
        for py in 0..<ph {
            for px in 0..<pw {
                for o in 0..<m { accumulators[o] = Int32.min }
                for dy in 0..<pool {
                    for dx in 0..<pool {
                        let total = gatherPlanes(p + ((py &* pool &+ dy) &* w &+ px &* pool &+ dx) &* c, bits: bits, w: w, c: c, k: k,
                                                 words: words, planes: patch)
                        if two && words == 1 {   // k k c <= 32 (3 x 3 or 5 x 5 on grey): the planes in registers
                            let (p1, p2) = (patch[1], patch[2])
                            for o in 0..<m {
                                let z = Popcount32.nibbles(p1 & masks[o]) &+ (Popcount32.nibbles(p2 & masks[o]) << 1)
                                let a = Int32(truncatingIfNeeded: total &- 2 &* (Int(counts[o]) &+ 2 &* Popcount32.sumNibbles(z)))
                                if a > accumulators[o] { accumulators[o] = a }
                            }
                            continue
                        }
                        var mask = UnsafePointer(masks)
                        for o in 0..<m {
                            var s = Int(counts[o])
                            if two {
                                s &+= 2 &* twoPlanes(patch + words, mask, words: words)
                            } else {
                                if first == 0 { s = 0 }
                                for b in first..<planes {
                                    var n = 0
                                    for t in 0..<words { n &+= (patch[b &* words &+ t] & mask[t]).nonzeroBitCount }
                                    s &+= n << b
                                }
                            }
                            let a = Int32(truncatingIfNeeded: total &- 2 &* s)
                            if a > accumulators[o] { accumulators[o] = a }
                            mask += words
                        }
                    }
                }
                for o in 0..<m { sink.store(pixel: py &* pw &+ px, channel: o, channels: m, accumulators[o]) }
            }
        }
    }

    /// popcount(P_1 & W) + 2 popcount(P_2 & W) over `words` mask words (`planes`: P_1, then P_2 `words`
    /// on): the second plane's nibble counts doubled (at most 8) added to the first's (at most 4)
    /// before one byte fold and multiply per word.
    @_noAllocation @inline(__always)
    static func twoPlanes(_ planes: UnsafePointer<UInt32>, _ mask: UnsafePointer<UInt32>, words: Int) -> Int {
        var n = 0
        for t in 0..<words {
            let z = Popcount32.nibbles(planes[t] & mask[t]) &+ (Popcount32.nibbles(planes[words &+ t] & mask[t]) << 1)
            n &+= Popcount32.sumNibbles(z)
        }
        return n
    }

    /// Each filter's -1 weights as a mask over the patch (`words` words per filter), and their count.
    @_noAllocation @inline(__always)
    static func gatherMasks(_ weights: UnsafePointer<UInt64>, c: Int, k: Int, m: Int, words: Int,
                            masks: UnsafeMutablePointer<UInt32>, counts: UnsafeMutablePointer<Int32>) {
        let cw = BitPacking.words(c)
        for o in 0..<m {
            let mask = masks + o &* words
            for t in 0..<words { mask[t] = 0 }
            var ones = 0
            for j in 0..<(k &* k) {
                let row = weights + (o &* k &* k &+ j) &* cw
                for i in 0..<c {
                    let bit = UInt32(truncatingIfNeeded: (row[i >> 6] >> UInt64(i & 63)) & 1)
                    let at = j &* c &+ i
                    mask[at >> 5] |= bit << UInt32(at & 31)
                    ones &+= Int(bit)
                }
            }
            counts[o] = Int32(truncatingIfNeeded: ones)
        }
    }

    /// The codes of the patch whose top-left pixel is `p`: their bit-planes (plane b at `planes + b
    /// words`; plane 0 left out for δ < 8) and, returned, their sum T.
    @_noAllocation @inline(__always)
    static func gatherPlanes(_ p: UnsafePointer<UInt8>, bits: Int, w: Int, c: Int, k: Int, words: Int,
                             planes: UnsafeMutablePointer<UInt32>) -> Int {
        let count = PixelPlanes.count(bits: bits), first = bits < 8 ? 1 : 0
        for t in (first &* words)..<(count &* words) { planes[t] = 0 }
        var total = 0, at = 0
        for ky in 0..<k {
            let row = p + ky &* w &* c
            for i in 0..<(k &* c) {
                let code = UInt32(InputCodes.code(row[i], delta: bits))
                total &+= Int(code)
                for b in first..<count { planes[b &* words &+ at >> 5] |= ((code >> UInt32(b)) & 1) << UInt32(at & 31) }
                at &+= 1
            }
        }
        return total
    }
}
