import ModelFormat

// The bit-planes of the input codes (spec/FORMAT.md `input_codes`: code = 2q + 1 with q = pixel >> (8 - δ),
// or the pixel itself when δ = 8). Plane b holds bit b of every code, packed by the one bit-packing rule
// (BitPacking.swift), so a first layer on codes becomes popcounts:
//   sum_i code_i w_i = sum_b 2^b (popcount(P_b) - 2 popcount(P_b AND W))      (bit 1 of W = -1)
// For δ < 8, plane 0 is the constant 1 of 2q + 1 (all n bits set) and plane b >= 1 is pixel bit
// 8 - δ + b - 1. Eight pixels at a time: their bit s is gathered into one byte by a multiply (the
// eight 0/1 bytes times 0x0102040810204080 put byte i's bit at bit 56 + i, with no carries).

/// Input-code bit-planes.
public enum PixelPlanes {
    /// Planes of `bits`-bit input codes: bits + 1 (2q + 1 has bits + 1 bits), or 8.
    @_noAllocation @inlinable public static func count(bits: Int) -> Int { bits == 8 ? 8 : bits + 1 }

    /// The pixel bit that is bit `plane` of the code, or -1 for the constant 1 of 2q + 1.
    @_noAllocation @inlinable static func pixelBit(plane b: Int, bits: Int) -> Int {
        bits == 8 ? b : (b == 0 ? -1 : 8 - bits + b - 1)
    }

    /// Writes the `count(bits:)` planes of the codes of `n` pixels (plane b at `planes + b * words(n)`)
    /// and returns the sum of the codes.
    @_noAllocation @inline(never)
    public static func build(pixels: UnsafePointer<UInt8>, n: Int, bits: Int, into planes: UnsafeMutablePointer<UInt64>) -> Int {
        let words = BitPacking.words(n)
        var total = 0
        for b in 0..<count(bits: bits) {
            let plane = planes + b * words
            let shift = pixelBit(plane: b, bits: bits)
            if shift < 0 {
                for j in 0..<words { plane[j] = j == words - 1 ? BitPacking.lastWordMask(n) : ~0 }
                total += n
                continue
            }
            var ones = 0
            #if !_pointerBitWidth(_32)
            // Whole words, 64 pixels in one vector: each 64-bit lane gathers its eight pixels' bit into a
            // byte by the multiply, and the lanes narrow to the word's eight bytes (about 7 vector ops per
            // word instead of 8 x 7 scalar ones: the first layer's bit-planes took a quarter of its time).
            let whole = n >> 6
            for j in 0..<whole {
                let v = UnsafeRawPointer(pixels + 64 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
                let t = (v &>> UInt64(shift)) & SIMD8(repeating: 0x0101_0101_0101_0101)
                let g = (t &* SIMD8(repeating: 0x0102_0408_1020_4080)) &>> 56
                var narrow = SIMD8<UInt8>()
                for r in 0..<8 { narrow[r] = UInt8(truncatingIfNeeded: g[r]) }   // a lane loop, not the generic init
                let word = UInt64(littleEndian: unsafeBitCast(narrow, to: UInt64.self))
                plane[j] = word
                ones &+= word.nonzeroBitCount
            }
            #else
            let whole = 0
            #endif
            for j in whole..<words {
                var word: UInt64 = 0
                let first = j * 64
                let chunks = min(8, (n - first + 7) >> 3)
                for c in 0..<chunks {
                    let at = first + 8 * c
                    var x: UInt64 = 0
                    if at + 8 <= n {
                        x = UInt64(littleEndian: UnsafeRawPointer(pixels + at).loadUnaligned(as: UInt64.self))
                    } else {
                        for i in 0..<(n - at) { x |= UInt64(pixels[at + i]) << UInt64(8 * i) }
                    }
                    let t = (x >> UInt64(shift)) & 0x0101_0101_0101_0101
                    word |= ((t &* 0x0102_0408_1020_4080) >> 56) << UInt64(8 * c)
                }
                plane[j] = word
                ones += word.nonzeroBitCount
            }
            total += ones << b
        }
        return total
    }

    /// Bit j set iff word j (of the first min(words, 64)) is nonzero in the plane of any of `images` images
    /// whose planes start `stride` words apart: the words a first layer must count (a zero word adds
    /// nothing to popcount(P AND w)). Rows of more than 64 words get every bit set beyond the mask's reach;
    /// kernels count every word of such rows.
    @_noAllocation @inline(__always)
    static func nonzeroWords(_ plane: UnsafePointer<UInt64>, stride: Int, images: Int, words: Int) -> UInt64 {
        guard words <= 64 else { return ~0 }
        var mask: UInt64 = 0
        for j in 0..<words {
            var any: UInt64 = 0
            for i in 0..<images { any |= plane[i &* stride &+ j] }
            if any != 0 { mask |= 1 << UInt64(j) }
        }
        return mask
    }

    /// `build` in 32-bit operations, for CPUs without 64-bit registers (the device firmware): four
    /// pixels per load, their bit s gathered into a nibble by a 32-bit multiply (byte i's bit lands on
    /// bit 28 + i, with no carries), and the codes' sum from byte counts. Same planes, same sum.
    @_noAllocation @inline(never)
    public static func build32(pixels: UnsafePointer<UInt8>, n: Int, bits: Int, into planes: UnsafeMutablePointer<UInt64>) -> Int {
        if bits == 2 { return build32TwoBit(pixels: pixels, n: n, into: planes) }
        let words = BitPacking.words(n)
        var total = 0
        for b in 0..<count(bits: bits) {
            let plane = planes + b &* words
            let shift = pixelBit(plane: b, bits: bits)
            if shift < 0 {
                for j in 0..<words { plane[j] = j == words &- 1 ? BitPacking.lastWordMask(n) : ~0 }
                total &+= n
                continue
            }
            let half = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: UInt32.self)
            let s = UInt32(truncatingIfNeeded: shift)
            var ones = 0
            for k in 0..<(2 &* words) {
                var word: UInt32 = 0, seen: UInt32 = 0
                var at = 32 &* k
                let end = min(n, at &+ 32)
                var nibble: UInt32 = 0
                while at &+ 4 <= end {
                    let x = UInt32(littleEndian: UnsafeRawPointer(pixels + at).loadUnaligned(as: UInt32.self))
                    let t = (x >> s) & 0x0101_0101
                    word |= ((t &* 0x1020_4080) >> 28) << nibble
                    seen &+= t
                    nibble &+= 4; at &+= 4
                }
                var i: UInt32 = 0
                while at < end {
                    let bit = (UInt32(pixels[at]) >> s) & 1
                    word |= bit << (nibble &+ i)
                    seen &+= bit
                    i &+= 1; at &+= 1
                }
                half[k] = word
                ones &+= Int(truncatingIfNeeded: (seen &* 0x0101_0101) >> 24)   // bytes of at most 8
            }
            total &+= ones << b
        }
        return total
    }

    /// `build32` for 2-bit codes (plane 0 constant, planes 1 and 2 bits 6 and 7 of the pixels): both
    /// planes from each load of four pixels, the eight loads of a whole half unrolled (constant shifts).
    @_noAllocation
    static func build32TwoBit(pixels: UnsafePointer<UInt8>, n: Int, into planes: UnsafeMutablePointer<UInt64>) -> Int {
        let words = BitPacking.words(n)
        for j in 0..<words { planes[j] = j == words &- 1 ? BitPacking.lastWordMask(n) : ~0 }
        let h1 = UnsafeMutableRawPointer(planes + words).assumingMemoryBound(to: UInt32.self)
        let h2 = UnsafeMutableRawPointer(planes + 2 &* words).assumingMemoryBound(to: UInt32.self)
        var ones1: UInt32 = 0, ones2: UInt32 = 0
        var k = 0, at = 0
        while at &+ 32 <= n {
            var w1: UInt32 = 0, w2: UInt32 = 0, c1: UInt32 = 0, c2: UInt32 = 0
            let p = UnsafeRawPointer(pixels + at)
            group(p, 0, &w1, &w2, &c1, &c2); group(p, 1, &w1, &w2, &c1, &c2)
            group(p, 2, &w1, &w2, &c1, &c2); group(p, 3, &w1, &w2, &c1, &c2)
            group(p, 4, &w1, &w2, &c1, &c2); group(p, 5, &w1, &w2, &c1, &c2)
            group(p, 6, &w1, &w2, &c1, &c2); group(p, 7, &w1, &w2, &c1, &c2)
            h1[k] = w1; h2[k] = w2
            ones1 &+= (c1 &* 0x0101_0101) >> 24   // bytes of at most 8
            ones2 &+= (c2 &* 0x0101_0101) >> 24
            k &+= 1; at &+= 32
        }
        while k < 2 &* words {   // the last, partial half and the padding half
            var w1: UInt32 = 0, w2: UInt32 = 0
            var i: UInt32 = 0
            while at < n && i < 32 {
                let x = UInt32(pixels[at])
                w1 |= ((x >> 6) & 1) << i
                w2 |= (x >> 7) << i
                ones1 &+= (x >> 6) & 1; ones2 &+= x >> 7
                i &+= 1; at &+= 1
            }
            h1[k] = w1; h2[k] = w2
            k &+= 1
        }
        return n &+ Int(truncatingIfNeeded: ones1 &<< 1) &+ Int(truncatingIfNeeded: ones2 &<< 2)
    }

    /// Pixels 4g ..< 4g + 4 from p into nibble g of both planes' halves (bits 6 and 7) and their byte counts.
    @_noAllocation @inline(__always)
    static func group(_ p: UnsafeRawPointer, _ g: Int, _ w1: inout UInt32, _ w2: inout UInt32, _ c1: inout UInt32, _ c2: inout UInt32) {
        let x = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 &* g, as: UInt32.self))
        let a = (x >> 6) & 0x0101_0101, b = (x >> 7) & 0x0101_0101
        w1 |= ((a &* 0x1020_4080) >> 28) << UInt32(truncatingIfNeeded: 4 &* g)
        w2 |= ((b &* 0x1020_4080) >> 28) << UInt32(truncatingIfNeeded: 4 &* g)
        c1 &+= a; c2 &+= b
    }

    /// Reference: the planes one pixel at a time from the codes of InputCodesKernel's rule.
    @_noAllocation
    public static func reference(pixels: UnsafePointer<UInt8>, n: Int, bits: Int, into planes: UnsafeMutablePointer<UInt64>) -> Int {
        let words = BitPacking.words(n)
        planes.initialize(repeating: 0, count: count(bits: bits) * words)
        var total = 0
        for i in 0..<n {
            let code = Int(InputCodes.code(pixels[i], delta: bits))
            total += code
            for b in 0..<count(bits: bits) where (code >> b) & 1 == 1 {
                planes[b * words + (i >> 6)] |= 1 << UInt64(i & 63)
            }
        }
        return total
    }
}
