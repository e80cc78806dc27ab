// Popcounts over packed rows, eight words at a time in SIMD8<UInt64> lanes. Built for a CPU with
// AVX-512 VPOPCNTDQ (`-target-cpu native`, as `make bench` does where the CPU has it) the lane popcount
// is one vpopcntq per eight words; a generic x86-64 build (no popcnt instruction) gets a SIMD bit-count
// sequence instead, slower but correct on any CPU. The reference kernels count one bit at a time.

/// Popcount reductions over packed rows.
public enum Popcount {
    /// popcount(a XOR b) over `words` words.
    @_noAllocation @inline(__always)
    public static func xor(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        var acc = SIMD8<UInt64>()
        var j = 0
        while j + 8 <= words {
            let x = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<UInt64>.self)
            let y = UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<UInt64>.self)
            acc &+= (x ^ y).nonzeroBitCount
            j += 8
        }
        var count = Int(acc.wrappedSum())
        while j < words { count &+= (a[j] ^ b[j]).nonzeroBitCount; j += 1 }
        return count
    }

    /// popcount(a AND b) over `words` words.
    @_noAllocation @inline(__always)
    public static func and(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        var acc = SIMD8<UInt64>()
        var j = 0
        while j + 8 <= words {
            let x = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<UInt64>.self)
            let y = UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<UInt64>.self)
            acc &+= (x & y).nonzeroBitCount
            j += 8
        }
        var count = Int(acc.wrappedSum())
        while j < words { count &+= (a[j] & b[j]).nonzeroBitCount; j += 1 }
        return count
    }
}
