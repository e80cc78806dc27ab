// Which weights a ternary layer zeroes (WeightQuantizer.swift; Li, Zhang & Liu 2016, "Ternary Weight Networks",
// arXiv:1605.04711, with Delta from a sparsity target): of a layer's n latent weights, the k = floor(S * n) of
// smallest |W|. With Delta the k-th smallest |W|, that is every weight with |W| < Delta and, of those with
// |W| = Delta, the first ones in index order until k are zero: TWN's |W| <= Delta with ties (weights clipped
// to the same bound, exact zeros) broken by position, so the count is exactly k, never more.
//
// Delta is found in O(n), deterministically, by a radix select on the bit patterns of |W|: for non-negative
// floats (and +infinity, and NaN above it) the order of the bit patterns as unsigned integers is the order of
// the values, so four counting passes over one byte each, most significant first, narrow the k-th smallest
// pattern down to one value. No sort, no dependence on the weights' range (initial weights span +/-1/sqrt(n),
// trained ones +/-1), and the same answer on every machine.

extension WeightQuantizer {
    /// How many of `n` weights a layer of sparsity `sparsity` zeroes: floor(sparsity * n), within 0...n
    /// (any sparsity in [0, 1) leaves at least one weight of a non-empty layer; NaN or negative zeroes none).
    public static func zeroCount(sparsity: Float, of n: Int) -> Int {
        guard sparsity > 0, n > 0 else { return 0 }
        let k = (Double(sparsity) * Double(n)).rounded(.down)
        return k >= Double(n) ? n : Int(k)
    }

    /// sign(W) with the `zeros` weights of smallest |W| set to 0 (ties by lower index first).
    public static func ternaryWeights(_ w: [Float], zeros: Int) -> [Float] {
        guard zeros > 0 else { return w.map(binarySign) }
        guard zeros < w.count else { return [Float](repeating: 0, count: w.count) }
        let (delta, below) = magnitudeKey(rank: zeros - 1, of: w)
        var ties = zeros - below          // weights with |W| = Delta still to zero, first in index order
        var out = [Float](repeating: 0, count: w.count)
        w.withUnsafeBufferPointer { w in
            for i in w.indices {
                let key = magnitudeKey(w[i])
                if key < delta { continue }
                if key == delta && ties > 0 { ties -= 1; continue }
                out[i] = binarySign(w[i])
            }
        }
        return out
    }

    /// The order key of |x|: its bit pattern (the sign bit cleared), ordered as |x| is.
    @inline(__always)
    static func magnitudeKey(_ x: Float) -> UInt32 { x.bitPattern & 0x7FFF_FFFF }

    /// The `rank`-th smallest (from 0) magnitude key of `w` (`rank` < `w.count`), and how many keys are
    /// smaller than it: a radix select, one counting pass per byte of the key, most significant first.
    static func magnitudeKey(rank: Int, of w: [Float]) -> (key: UInt32, below: Int) {
        precondition(rank >= 0 && rank < w.count, "rank \(rank) outside 0..<\(w.count)")
        var prefix: UInt32 = 0, mask: UInt32 = 0, r = rank, below = 0
        var counts = [Int](repeating: 0, count: 256)
        w.withUnsafeBufferPointer { w in
            for shift: UInt32 in [24, 16, 8, 0] {
                for b in 0..<256 { counts[b] = 0 }
                for x in w {
                    let key = magnitudeKey(x)
                    if key & mask == prefix { counts[Int((key >> shift) & 0xFF)] += 1 }
                }
                // The byte whose bucket holds rank r among the keys that share the prefix so far.
                var byte = 0
                while r >= counts[byte] { r -= counts[byte]; below += counts[byte]; byte += 1 }
                prefix |= UInt32(byte) << shift
                mask |= 0xFF << shift
            }
        }
        return (prefix, below)
    }
}
