// Stage (b) of the method: exact integer bound propagation through the folded thresholds, and the
// last-layer check of stage (c).
//
// The first layer is linear in the codes 2q + 1 with ±1 weights (or 0: ternary), and the free pixels move independently
// inside their level ranges, so its interval bounds [lo, hi] are the exact range of each accumulator
// (interval arithmetic over a box is exact for one linear form). A unit whose whole range lies on one
// side of its integer threshold (spec/FORMAT.md, threshold_sign: +1 iff (A >= t) != flip) cannot change
// and is fixed; the others are free. Each later binary layer then sums its fixed inputs exactly
// (n − 2·popcount((a XOR w) AND fixed)) and bounds the free ones by ±1 each, which fixes the units it
// can. In a ternary layer a row reads only its non-zero weights (mask z, BinaryNetwork.swift): the fixed sum
// is popcount(fixed AND z) − 2·popcount((a XOR w) AND fixed AND z) and only the free inputs under z move it,
// each by ±1, so the bounds are the same argument over fewer inputs (a free unit that no row reads fixes
// nothing and costs nothing). This is the "integer interval" propagation of Narodytska et al. ("Verifying Properties of
// Binarized Deep Neural Networks", AAAI 2018) and of Jia & Rinard (EEV, NeurIPS 2020), on the
// thresholds the converter folded (BatchNorm + sign as an integer compare, so nothing is rounded).
//
// The last layer is checked class against class. Every free unit k of the last hidden layer adds
// h_k·w_jk to class j and h_k·w_yk to the true class y, so units with w_jk = w_yk move both sums the
// same way (s) and the others opposite ways (d): A_j = F_j + s + d, A_y = F_y + s − d. When both scores
// are monotone the same way, the worst d is an end (±D) and s is enumerated (S + 1 values), each pair of
// scores compared exactly with the argmax's tie rule (ScoreMap). With ternary weights a free unit may have
// w_jk = 0 or w_yk = 0: those read by class j alone move A_j only (e_j, |e_j| <= J), those read by y alone move
// A_y only (e_y, |e_y| <= Y), those read by neither move nothing; e_j and e_y are independent of s, d and each
// other, and a score is monotone in its own accumulator, so their worst case is an end each (e_j towards j's
// higher score, e_y towards y's lower), added to every (s, d) pair. Treating the free units as independent
// over-approximates what the pixels can reach, so "no class can win" is sound; "some class wins" is
// only reported when every unit of the last hidden layer that a class reads (a non-zero weight) is fixed (then
// the output is determined).

import ModelFormat

/// What bound propagation decides at one node of the search.
enum NodeOutcome: Equatable {
    /// No image in the node's box changes the class from the label.
    case robust
    /// Every image in the box gets this class.
    case decided(Int)
    /// Neither: the search must split the box.
    case open
}

/// The scratch and the propagation of one search (allocated once per image, reused at every node).
struct BoundPropagation {
    let network: BinaryNetwork
    /// Per layer boundary: which units are fixed, and their values (bit 1 = −1), as packed words.
    var fixed: [[UInt64]]
    var value: [[UInt64]]
    /// The last layer's fixed sums, and per class its count of free inputs it reads (non-zero weights).
    var lastSums: [Int]
    var lastOpen: [Int]

    init(network: BinaryNetwork) {
        self.network = network
        var widths = [network.firstUnits]
        for layer in network.hidden { widths.append(layer.m) }
        fixed = widths.map { [UInt64](repeating: 0, count: BitPacking.words($0)) }
        value = fixed
        lastSums = [Int](repeating: 0, count: network.classes)
        lastOpen = lastSums
    }

    /// Decides what it can about the box whose first-layer accumulators lie in `lo[o]...hi[o]`, for label `y`.
    mutating func examine(lo: UnsafeBufferPointer<Int32>, hi: UnsafeBufferPointer<Int32>, label y: Int) -> NodeOutcome {
        let scores = network.scores
        guard let firstThreshold = network.firstThreshold, let last = network.last else {
            // One layer: the class accumulators are the first layer's, each exact over the box.
            if (0..<network.classes).allSatisfy({ lo[$0] == hi[$0] }) { return .decided(scores.argmax(lo.map { Int($0) })) }
            let yr = scores.range(y, Int(lo[y]), Int(hi[y]))
            for j in 0..<network.classes where j != y {
                if ScoreMap.beats(j, scores.range(j, Int(lo[j]), Int(hi[j])).high, y, yr.low) { return .open }
            }
            return .robust
        }
        Self.fix(fixed: &fixed[0], value: &value[0], units: network.firstUnits, threshold: firstThreshold) { o in (Int(lo[o]), Int(hi[o])) }
        for (l, layer) in network.hidden.enumerated() {
            let (fIn, vIn) = (fixed[l], value[l])
            let known = Self.count(fIn)
            let threshold = layer.threshold!
            Self.fix(fixed: &fixed[l + 1], value: &value[l + 1], units: layer.m, threshold: threshold) { o in
                let (f, open) = Self.fixedSum(layer, row: o, fixed: fIn, value: vIn, known: known)
                return (f - open, f + open)
            }
        }
        let fIn = fixed[fixed.count - 1], vIn = value[value.count - 1]
        let known = Self.count(fIn)
        var anyOpen = false
        for j in 0..<network.classes {
            (lastSums[j], lastOpen[j]) = Self.fixedSum(last, row: j, fixed: fIn, value: vIn, known: known)
            anyOpen = anyOpen || lastOpen[j] > 0
        }
        if !anyOpen { return .decided(scores.argmax(lastSums)) }

        let fy = lastSums[y], oy = lastOpen[y]
        let yr = scores.range(y, fy - oy, fy + oy)
        for j in 0..<network.classes where j != y {
            let fj = lastSums[j], oj = lastOpen[j]
            if !ScoreMap.beats(j, scores.range(j, fj - oj, fj + oj).high, y, yr.low) { continue }
            let dj = scores.direction[j], dy = scores.direction[y]
            if dj * dy < 0 { return .open }
            // Free inputs read by both rows, the same way (same) or opposite ways (opposite); by j alone; by y alone.
            var same = 0, opposite = 0, onlyJ = 0, onlyY = 0
            for w in 0..<last.words {
                let free = ~fIn[w] & BinaryNetwork.validMask(w, n: last.n)
                let zj = last.nonZeroWord(j, w), zy = last.nonZeroWord(y, w)
                let both = free & zj & zy
                let differ = last.weights[j * last.words + w] ^ last.weights[y * last.words + w]
                opposite += (both & differ).nonzeroBitCount
                same += (both & ~differ).nonzeroBitCount
                onlyJ += (free & zj & ~zy).nonzeroBitCount
                onlyY += (free & zy & ~zj).nonzeroBitCount
            }
            let d = dj + dy >= 0 ? opposite : -opposite
            let ej = dj >= 0 ? onlyJ : -onlyJ, ey = dy >= 0 ? -onlyY : onlyY
            for s in stride(from: -same, through: same, by: 2)
            where ScoreMap.beats(j, scores.score(j, fj + s + d + ej), y, scores.score(y, fy + s - d + ey)) {
                return .open
            }
        }
        return .robust
    }

    /// Sets the masks of `units` units from their accumulator ranges: fixed where the range lies on one
    /// side of the threshold, with the value the threshold gives.
    @inline(__always)
    static func fix(fixed: inout [UInt64], value: inout [UInt64], units: Int, threshold: BinaryNetwork.Threshold,
                    range: (Int) -> (Int, Int)) {
        for w in 0..<fixed.count { fixed[w] = 0; value[w] = 0 }
        for o in 0..<units {
            let (lo, hi) = range(o)
            let t = Int(threshold.threshold[o])
            let atLeast: Bool
            if lo >= t { atLeast = true } else if hi < t { atLeast = false } else { continue }
            fixed[o >> 6] |= 1 << UInt64(o & 63)
            if atLeast == threshold.flip[o] { value[o >> 6] |= 1 << UInt64(o & 63) }   // -1
        }
    }

    /// Σ over the fixed inputs of a_i · w_oi: known − 2 · (fixed inputs where a and w differ), and the count
    /// of free inputs row `o` reads (`known`: the fixed inputs). In a ternary layer both run over the row's
    /// non-zero weights only: the fixed ones it reads − 2 · (those where a and w differ), its non-zero count
    /// minus the fixed ones it reads.
    @inline(__always)
    static func fixedSum(_ layer: BinaryNetwork.PackedLayer, row o: Int, fixed: [UInt64], value: [UInt64], known: Int) -> (sum: Int, open: Int) {
        var differ = 0
        guard let mask = layer.mask else {
            for w in 0..<layer.words { differ += ((value[w] ^ layer.weights[o * layer.words + w]) & fixed[w]).nonzeroBitCount }
            return (known - 2 * differ, layer.n - known)
        }
        var read = 0
        for w in 0..<layer.words {
            let f = fixed[w] & mask[o * layer.words + w]
            differ += ((value[w] ^ layer.weights[o * layer.words + w]) & f).nonzeroBitCount
            read += f.nonzeroBitCount
        }
        return (read - 2 * differ, layer.nonZero[o] - read)
    }

    static func count(_ words: [UInt64]) -> Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

extension BinaryNetwork {
    /// The bits of word `w` that hold one of `n` values.
    @inline(__always)
    static func validMask(_ w: Int, n: Int) -> UInt64 {
        w < n >> 6 ? ~0 : BitPacking.lastWordMask(n)
    }
}
