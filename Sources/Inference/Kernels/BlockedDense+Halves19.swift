import ModelFormat

// The carry-save dense kernel specialized for rows of 19 halves (577 ... 608 inputs: FCN2's hidden
// layers, BlockedDense+CarrySave.swift): each row's count is one fully unrolled call, and with a
// threshold sink the eight rows of a block go into one byte in registers. `bitsCarrySave` takes this
// path when `unrollsHalves19` says so; the kernel choice names it `.blockedBitsCarrySave19`.
// Hand-unrolled for the Cortex-M4, where a loop over halves spills (the instruction pins of DeviceTests).

extension BlockedDenseKernel {
    /// Whether `bitsCarrySave` runs rows of `halves` 32-bit halves on this file's unrolled code.
    @_noAllocation @inline(__always)
    static func unrollsHalves19(halves: Int) -> Bool { halves == 19 }

    /// `bitsCarrySave` into packed signs for rows of 19 halves: whole blocks of eight rows, one call
    /// each, the signs packed in registers; then the rows left over.
    @_noAllocation @inline(__always)
    static func signsHalves19(_ x32: UnsafePointer<UInt32>, _ w32: UnsafePointer<UInt32>, words: Int, m: Int, fanIn: Int32,
                              thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>, bits: UnsafeMutablePointer<UInt64>) {
        let bytes = UnsafeMutableRawPointer(bits).assumingMemoryBound(to: UInt8.self)
        var o = 0
        var block = w32
        while o &+ 8 <= m {
            bytes[o >> 3] = UInt8(truncatingIfNeeded: signs19(x32, block, thresholds + o, flips + o, fanIn))
            block += 16 &* words
            o &+= 8
        }
        if o < m {
            let rest = AccumulatorSink.signs(thresholds: thresholds + o, flips: flips + o, layout: .flat, channels: m &- o,
                                             bits: UnsafeMutableRawPointer(bytes + (o >> 3)).assumingMemoryBound(to: UInt64.self))
            emitRows(m: m &- o, words: words, weights: block, sink: rest) { _, row in fanIn &- (xorRow19(x32, row) &<< 1) }
        }
    }

    /// The signs of the eight rows of a block of 19-half rows from `block` (thresholds `t`, flips `f`
    /// from the block's first row): bit r is 1 (-1) iff (A_r >= t_r) == f_r, as AccumulatorSink.store.
    @_noAllocation @inline(never)
    static func signs19(_ x: UnsafePointer<UInt32>, _ block: UnsafePointer<UInt32>, _ t: UnsafePointer<Int32>,
                        _ f: UnsafePointer<UInt8>, _ fanIn: Int32) -> UInt32 {
        @inline(__always) func sign(_ r: Int) -> UInt32 {
            let a = fanIn &- (xorRow19(x, block + 2 &* r) &<< 1)
            return ThresholdSign.bit(a, threshold: t[r], flip: f[r])
        }
        var byte = sign(0)
        byte |= sign(1) &<< 1
        byte |= sign(2) &<< 2
        byte |= sign(3) &<< 3
        byte |= sign(4) &<< 4
        byte |= sign(5) &<< 5
        byte |= sign(6) &<< 6
        byte |= sign(7) &<< 7
        return byte
    }

    /// popcount(x XOR row) over 19 halves (577 ... 608 inputs: FCN2's hidden layers), unrolled.
    @_noAllocation @inline(never)
    static func xorRow19(_ x: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>) -> Int32 {
        rowCount(x, row, halves: 19, mode: 1)
    }
}
