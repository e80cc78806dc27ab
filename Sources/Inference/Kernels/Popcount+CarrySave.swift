// Popcounts for CPUs without a popcount instruction (the Cortex-M0/M4 of the device firmware): words
// are added bit-slice-wise by carry-save adders (Harley and Seal's method; Muła, Kurz and Lemire,
// "Faster population counts using AVX2 instructions", 2018) into `ones` and `twos` accumulators,
// and only the carries out of every four words, the "fours", are counted with a bit-count sequence.
// Per word that is 7.5 logic operations and a quarter of a bit count, instead of a whole bit count
// (about 12 operations on a 32-bit CPU per 32 bits). Exact for every input: the tests compare it
// with `Popcount.xor` and `Popcount.and` over all lengths 0...40 and random words.
//
// `xorWords` / `andWords` choose per target: carry-save where pointers are 32 bits (armv6m,
// armv7em: no popcount instruction), the SIMD8 kernels of Popcount.swift elsewhere.

extension Popcount {
    /// One carry-save adder: the sum bits and carry bits of a + b + c, bit by bit.
    @_noAllocation @inline(__always)
    static func carrySave(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (carry: UInt64, sum: UInt64) {
        let u = a ^ b
        return ((a & b) | (u & c), u ^ c)
    }

    /// One carry-save adder on 32-bit words (the device kernels: BlockedDense+CarrySave, ColumnDense).
    @_noAllocation @inline(__always)
    static func carrySave(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> (carry: UInt32, sum: UInt32) {
        let u = a ^ b
        return ((a & b) | (u & c), u ^ c)
    }

    /// popcount(a XOR b) over `words` words, by carry-save adders.
    @_noAllocation @inline(__always)
    public static func xorCarrySave(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        carrySaveCount(a, b, words: words, xor: true)
    }

    /// popcount(a AND b) over `words` words, by carry-save adders.
    @_noAllocation @inline(__always)
    public static func andCarrySave(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        carrySaveCount(a, b, words: words, xor: false)
    }

    /// popcount(a XOR b) (`xor`) or popcount(a AND b) over `words` words; `xor` is a constant at every
    /// call site, so the choice folds away.
    @_noAllocation @inline(__always)
    static func carrySaveCount(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int, xor: Bool) -> Int {
        @inline(__always) func word(_ j: Int) -> UInt64 { xor ? a[j] ^ b[j] : a[j] & b[j] }
        var ones: UInt64 = 0, twos: UInt64 = 0, fours = 0
        var j = 0
        while j + 4 <= words {
            let (t0, o0) = carrySave(ones, word(j), word(j + 1))
            let (t1, o1) = carrySave(o0, word(j + 2), word(j + 3))
            let (f, t) = carrySave(twos, t0, t1)
            ones = o1
            twos = t
            fours &+= f.nonzeroBitCount
            j += 4
        }
        var count = 4 &* fours &+ 2 &* twos.nonzeroBitCount &+ ones.nonzeroBitCount
        while j < words { count &+= word(j).nonzeroBitCount; j += 1 }
        return count
    }

    /// popcount(a XOR b): carry-save on 32-bit targets, SIMD8 lanes elsewhere.
    @_noAllocation @inline(__always)
    public static func xorWords(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        #if _pointerBitWidth(_32)
        return xorCarrySave(a, b, words: words)
        #else
        return xor(a, b, words: words)
        #endif
    }

    /// popcount(a AND b): carry-save on 32-bit targets, SIMD8 lanes elsewhere.
    @_noAllocation @inline(__always)
    public static func andWords(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        #if _pointerBitWidth(_32)
        return andCarrySave(a, b, words: words)
        #else
        return and(a, b, words: words)
        #endif
    }
}
