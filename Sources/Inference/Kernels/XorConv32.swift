import ModelFormat

// The hidden binary conv of every non-reference kernel set: the Cortex-M firmware's and 64-bit hosts'
// (on the x86-64 host about half the ns of the 64-bit row kernel it replaced there, FusedConvKernel).
// Reference: BinaryConvKernel.referenceBits (BinaryConv.swift).

/// A binary conv on packed ±1 input (`pixel` layout, stride 1, no padding, NHWC), with optional max
/// pooling into the sink, counted 32 bits at a time. Each output pixel's receptive field is gathered
/// once into the scratch as 32-bit words, then XORed with each filter and popcounted three words at a
/// time (`Popcount32.xorCount`: nibble sums, one multiply per three words). The bits layout pads
/// each pixel's channels to whole 64-bit words with 0 bits in input and weights alike, so for c <= 32
/// only the low word of each pixel's two counts (the filter read with a stride of 2): the zero
/// halves that 64-bit popcounts would count are skipped. For larger c the field keeps all
/// of a pixel's words (a zero top half counts 0). A = k k c - 2 popcount, max over the pool window.
public enum XorConv32Kernel {
    /// 32-bit words a pixel's channels take in the gathered field (1 for c <= 32, else all of them).
    @_noAllocation @inlinable static func gathered(c: Int) -> Int { c <= 32 ? 1 : 2 &* BitPacking.words(c) }

    /// Scratch bytes: one pooled output pixel's m accumulators and the gathered k x k field.
    @_noAllocation @inlinable public static func scratchBytes(m: Int, k: Int, c: Int) -> Int {
        4 &* m &+ 4 &* k &* k &* gathered(c: c)
    }

    /// Runs the conv (h x w x c -> oh x ow x m), pools by `pool` (1: none), and hands each output to
    /// `sink`; `scratch` holds `scratchBytes(m:k:c:)`.
    @_noAllocation @inline(never)
    public static func run(_ x: UnsafePointer<UInt64>, h: Int, w: Int, c: Int, k: Int, weights: UnsafePointer<UInt64>, m: Int,
                           pool: Int, scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        let (ph, pw) = ((h - k + 1) / pool, (w - k + 1) / pool)
        let halves = 2 &* BitPacking.words(c), g = gathered(c: c), stride = g == 1 ? halves : 1
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let w32 = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        let accumulators = scratch.assumingMemoryBound(to: Int32.self)
        let field = UnsafeMutableRawPointer(accumulators + m).assumingMemoryBound(to: UInt32.self)
        let n = k &* k &* c, words = k &* k &* g, filterHalves = k &* k &* halves
        for py in 0..<ph {
            for px in 0..<pw {
                for o in 0..<m { accumulators[o] = Int32.min }
                for dy in 0..<pool {
                    for dx in 0..<pool {
                        var at = 0
                        for ky in 0..<k {
                            let row = x32 + ((py &* pool &+ dy &+ ky) &* w &+ px &* pool &+ dx) &* halves
                            for j in 0..<(k &* halves) where j % halves < g {
                                field[at] = row[j]
                                at &+= 1
                            }
                        }
                        var f = w32
                        if words == 9 && stride == 2 {   // 3 x 3 on c <= 32: the count unrolled, straight-line
                            for o in 0..<m {
                                let a = Int32(truncatingIfNeeded: n &- 2 &* Popcount32.xorCount9(field, f))
                                if a > accumulators[o] { accumulators[o] = a }
                                f += filterHalves
                            }
                            continue
                        }
                        for o in 0..<m {
                            let a = Int32(truncatingIfNeeded: n &- 2 &* Popcount32.xorCount(field, f, count: words, stride: stride))
                            if a > accumulators[o] { accumulators[o] = a }
                            f += filterHalves
                        }
                    }
                }
                for o in 0..<m { sink.store(pixel: py &* pw &+ px, channel: o, channels: m, accumulators[o]) }
            }
        }
    }
}

/// Popcounts of 32-bit words for targets without a popcount instruction (the Cortex-M).
enum Popcount32 {
    /// The bit counts of `v`'s nibbles, in its nibbles (each at most 4): the first two steps of the
    /// SWAR popcount, five instructions on the Cortex-M4.
    @_noAllocation @inline(__always)
    static func nibbles(_ v: UInt32) -> UInt32 {
        let x = v &- ((v >> 1) & 0x5555_5555)
        return (x & 0x3333_3333) &+ ((x >> 2) & 0x3333_3333)
    }

    /// The sum of the bytes of a word of nibble counts (each at most 15; the total at most 255).
    @_noAllocation @inline(__always)
    static func sumNibbles(_ z: UInt32) -> Int {
        let bytes = (z & 0x0F0F_0F0F) &+ ((z >> 4) & 0x0F0F_0F0F)
        return Int((bytes &* 0x0101_0101) >> 24)
    }

    /// `xorCount(a, b, count: 9, stride: 2)`, straight-line.
    @_noAllocation @inline(__always)
    static func xorCount9(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>) -> Int {
        let z0 = nibbles(a[0] ^ b[0]) &+ nibbles(a[1] ^ b[2]) &+ nibbles(a[2] ^ b[4])
        let z1 = nibbles(a[3] ^ b[6]) &+ nibbles(a[4] ^ b[8]) &+ nibbles(a[5] ^ b[10])
        let z2 = nibbles(a[6] ^ b[12]) &+ nibbles(a[7] ^ b[14]) &+ nibbles(a[8] ^ b[16])
        // Six words' bytes (at most 192 in all) in one fold, the last three's in another: the multiply's
        // top byte holds a sum only up to 255.
        let bytes = (z0 & 0x0F0F_0F0F) &+ ((z0 >> 4) & 0x0F0F_0F0F) &+ (z1 & 0x0F0F_0F0F) &+ ((z1 >> 4) & 0x0F0F_0F0F)
        return Int((bytes &* 0x0101_0101) >> 24) &+ sumNibbles(z2)
    }

    /// popcount(a[t] XOR b[t * stride]) over t < count: three words' nibble counts (at most 12 a
    /// nibble) summed before one byte fold and multiply.
    @_noAllocation @inline(__always)
    static func xorCount(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>, count: Int, stride: Int) -> Int {
        var total = 0, t = 0, f = b
        while t &+ 3 <= count {
            let z = nibbles(a[t] ^ f[0]) &+ nibbles(a[t &+ 1] ^ f[stride]) &+ nibbles(a[t &+ 2] ^ f[2 &* stride])
            total &+= sumNibbles(z)
            t &+= 3
            f += 3 &* stride
        }
        while t < count {
            total &+= sumNibbles(nibbles(a[t] ^ f[0]))
            t &+= 1
            f += stride
        }
        return total
    }
}
