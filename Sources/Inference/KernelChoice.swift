import ModelFormat

// The kernel choice (Larq Compute Engine's `select_kernel.h` is the model): one pure function from what
// a step is (op, weight layout, kernel set, input kind and code bits, fused sink, batch path, shape) to
// the kernel entry point that runs it. The steps (Steps/) call it and switch on the answer, the plan
// sizes each step's scratch and persistent data from it, and `convert inspect` prints it: so what is
// printed is what runs. KernelChoiceTests hold the table of every case.

/// A kernel entry point: each case names the function a step calls.
public enum Kernel: Equatable, Sendable, CaseIterable {
    /// `InputCodesKernel.run`: pixels to Eq. 2 codes (when no binary layer forms them itself).
    case inputCodes
    /// `BlockedDenseKernel.bits4`: bits8 weights, binary input, four images per pass over the weights.
    case blockedBits4
    /// `BlockedDenseKernel.planes4`: bits8 weights, the codes' bit-planes, four images per pass.
    case blockedPlanes4
    /// `BlockedDenseKernel.bits`: bits8 weights, binary input, SIMD8 popcounts.
    case blockedBits
    /// `BlockedDenseKernel.planes`: bits8 weights, the codes' bit-planes, SIMD8 popcounts.
    case blockedPlanes
    #if !_pointerBitWidth(_32)   // 64-bit hosts only: the device's enum and code as they were
    /// `BlockedDenseKernel.bitsRows16`: bits8 weights, binary input, one image, two blocks of rows per pass
    /// (BlockedDense+Rows16.swift).
    case blockedBitsRows16
    /// `BlockedDenseKernel.planesRows16`: bits8 weights, the 2-bit codes' bit-planes, one image, two blocks
    /// of rows per pass (BlockedDense+Rows16.swift).
    case blockedPlanesRows16
    /// `BlockedDenseKernel.ternaryBits`: a ternary dense layer's two bits8 planes, binary input, one image, one
    /// masked popcount per word pair, threshold_sign fused (BlockedDense+Ternary.swift).
    case blockedBitsTernary
    /// `BlockedDenseKernel.ternaryBits4`: `blockedBitsTernary` on four images per pass over the planes.
    case blockedBitsTernary4
    /// `BlockedDenseKernel.ternaryPlanes`: a ternary first layer's two bits8 planes on the codes' bit-planes,
    /// built once, one image at a time, threshold_sign fused (BlockedDense+Ternary.swift).
    case blockedPlanesTernary
    /// `BlockedDenseKernel.ternaryPlanes4`: `blockedPlanesTernary` on four images per pass over the weight planes.
    case blockedPlanesTernary4
    #endif
    /// `BlockedDenseKernel.bitsCarrySave`: bits8 weights, binary input, Harley-Seal counts on 32-bit words.
    case blockedBitsCarrySave
    /// `BlockedDenseKernel.bitsCarrySave` on rows of 19 halves, unrolled (BlockedDense+Halves19.swift).
    case blockedBitsCarrySave19
    /// `BlockedDenseKernel.planesCarrySave`: bits8 weights, the codes' bit-planes, carry-save counts.
    case blockedPlanesCarrySave
    /// `BlockedDenseKernel.planesCarrySave` on 2-bit codes in rows of 13 words (BlockedDense+Words13.swift).
    case blockedPlanesCarrySave13
    /// `ColumnDenseKernel.bits`: columns32 weights, binary input.
    case columnsBits
    /// `ColumnDenseKernel.bitsBounds`: columns32s weights, binary input, threshold_sign fused: the signs
    /// read off the counter started at the stored bounds (format version 4).
    case columnsBitsBounds
    /// `ColumnDenseKernel.pixels`: columns32 weights, codes formed from the pixels.
    case columnsPixels
    /// `FusedDenseKernel.popcountBits`: v1 `bits` weights, binary input, row by row.
    case fusedDenseBits
    /// `FusedDenseKernel.bitplanePixels`: v1 `bits` weights, the codes' bit-planes, row by row.
    case fusedDensePlanes
    /// `XorConv32Kernel.run`: binary conv on packed bits, 32-bit words, optional max-pool into the sink
    /// (every non-reference kernel set's hidden binary convs, 64-bit hosts too).
    case xorConv32
    /// `PlaneConv32Kernel.run`: binary conv on codes formed from the pixels, by the patch's bit-planes
    /// (every non-reference kernel set, 64-bit hosts too).
    case planeConv32
    /// `BinaryDenseKernel.referenceBits`.
    case referenceDenseBits
    /// `BinaryDenseKernel.referenceCodes`.
    case referenceDenseCodes
    /// `BinaryConvKernel.referenceBits`.
    case referenceConvBits
    /// `BinaryConvKernel.referenceCodes`.
    case referenceConvCodes
    /// `FloatDenseKernel.simd` (after `WidenKernel` for codes or bits).
    case floatDenseSIMD
    /// `FloatDenseKernel.reference` (after `WidenKernel` for codes or bits).
    case floatDenseReference
    #if !_pointerBitWidth(_32)   // the firmware's choice as it was
    /// `FloatDenseKernel.simd4`: `floatDenseSIMD` on four images per pass over the weights, bit for bit
    /// (the `simd` set's batch path, on f32 input read in place: no scratch).
    case floatDenseSIMD4
    #endif
    /// `FloatConvKernel.reference` (after `WidenKernel` for codes or bits).
    case floatConvReference
    #if !_pointerBitWidth(_32)   // the firmware keeps the reference: its code and instruction counts are pinned
    /// `FloatConvKernel.simd` (after `FloatConvKernel.planes`): eight output pixels per SIMD8 lane group, in
    /// the reference's summation order (the `simd` set; FloatConv+Pixels.swift).
    case floatConvSIMD
    #endif
    /// `MaxPoolKernel.run` on i32 accumulators.
    case maxPoolI32
    /// `MaxPoolKernel.run` on f32 values.
    case maxPoolF32
    #if !_pointerBitWidth(_32)   // the firmware's choice as it was
    /// `MaxPoolKernel.simd` on f32 values: eight channels per SIMD8 lane group (the `simd` set).
    case maxPoolF32SIMD
    #endif
    /// `ThresholdSignKernel.run`.
    case thresholdSign
    /// `AffineKernel.run` on i32 accumulators (in place).
    case affineI32
    /// `AffineKernel.run` on f32 values (in place).
    case affineF32
    /// `ActivationKernel.hardtanh` (in place).
    case hardtanh
    /// `ActivationKernel.relu` (in place).
    case relu
    /// `ActivationKernel.argmax` (scores to the caller).
    case argmax

    /// What a step is, as far as the choice goes.
    public struct Query: Equatable, Sendable {
        /// The op (for a fused step, its first weight op).
        public var op: OpKind
        /// The weights' tensor type (`f32`, `bits`, `bits8`, `columns32`, `columns32s`); ignored for ops without weights.
        public var weights: TensorType
        /// The interpreter's kernel set (resolved here for this target).
        public var kernels: KernelSet
        /// The kind of the step's input value.
        public var input: ValueKind
        /// > 0: the layer forms codes of that many input bits from the pixels itself (input_codes fused in).
        public var codeBits: Int
        /// The accumulators go into packed signs (threshold_sign fused in).
        public var signs: Bool
        /// Four images per pass over the weights (the batch path); else one image.
        public var four: Bool
        /// Inputs per output (dense fan-in; a conv's input elements).
        public var n: Int
        #if !_pointerBitWidth(_32)   // the device's query as it was: it runs every ternary layer on two planes
        /// A ternary dense layer (two ±1 planes, format version 5). Where no ternary kernel fits, the answer is
        /// the binary kernel that runs on each plane (TernaryLayerStep), which never fuses the signs.
        public var ternary = false
        #endif

        @_noAllocation
        public init(op: OpKind, weights: TensorType = .f32, kernels: KernelSet, input: ValueKind, codeBits: Int = 0,
                    signs: Bool = false, four: Bool = false, n: Int = 0) {
            (self.op, self.weights, self.kernels, self.input, self.codeBits) = (op, weights, kernels, input, codeBits)
            (self.signs, self.four, self.n) = (signs, four, n)
        }
    }

    /// The kernel that runs `q`. A batch path of four answers a one-image kernel where no four-image
    /// kernel exists (`imagesPerCall` tells).
    @_noAllocation @inline(__always)
    public static func choose(_ q: Query) -> Kernel {
        switch q.op {
        case .inputCodes: return .inputCodes
        case .maxpool2d: if case .i32 = q.input { return .maxPoolI32 }
            #if !_pointerBitWidth(_32)
            if case .simd = KernelSet.resolve(q.kernels) { return .maxPoolF32SIMD }
            #endif
            return .maxPoolF32
        case .thresholdSign: return .thresholdSign
        case .affine: if case .i32 = q.input { return .affineI32 }
            return .affineF32
        case .hardtanh: return .hardtanh
        case .relu: return .relu
        case .argmax: return .argmax
        case .dense, .conv2d:
            #if BITSHIELD_MINIMAL
            // The minimal build (scripts/build-lib.sh TARGET-minimal) has the columns32 dense kernels only, so
            // the others are left out at build time; its C API refuses every other layer at init.
            return q.codeBits > 0 ? .columnsPixels : .columnsBits
            #else
            if !q.weights.isPacked {
                if q.op == .conv2d {
                    // The SIMD8 conv on 64-bit hosts: on the Fashion-MNIST conv net's convs 8.7x and 14x fewer
                    // ns than the reference (`infer --profile`); the firmware keeps the reference.
                    #if !_pointerBitWidth(_32)
                    if case .simd = KernelSet.resolve(q.kernels) { return .floatConvSIMD }
                    #endif
                    return .floatConvReference
                }
                if case .reference = KernelSet.resolve(q.kernels) { return .floatDenseReference }
                #if !_pointerBitWidth(_32)
                if q.four, case .f32 = q.input, case .simd = KernelSet.resolve(q.kernels) { return .floatDenseSIMD4 }
                #endif
                return .floatDenseSIMD
            }
            return binaryLayer(q, KernelSet.resolve(q.kernels))
            #endif
        }
    }

    /// `choose` for a layer with packed binary weights, `kernels` resolved.
    @_noAllocation @inline(__always)
    static func binaryLayer(_ q: Query, _ kernels: KernelSet) -> Kernel {
        #if !_pointerBitWidth(_32)
        if q.ternary { return ternaryLayer(q, kernels) }
        #endif
        let dense = q.op == .dense, codes = q.codeBits > 0
        let bitsInput: Bool
        if case .bits = q.input { bitsInput = true } else { bitsInput = false }
        if case .reference = kernels {
            if dense { return bitsInput ? .referenceDenseBits : .referenceDenseCodes }
            return bitsInput ? .referenceConvBits : .referenceConvCodes
        }
        if !dense {
            // The first conv on codes: PlaneConv32 on every target (on the x86-64 host 8x fewer ns than the
            // per-filter, per-code row loop it replaced, which formed each code m times).
            // A hidden conv on packed bits: XorConv32 on every target (on the x86-64 host about half the ns of
            // the 64-bit row kernel it replaced, which re-read each field per filter and counted the zero
            // top halves of c <= 32 channel words).
            if codes { return .planeConv32 }
            return .xorConv32
        }
        switch q.weights {
        case .columns32: return codes ? .columnsPixels : .columnsBits
        case .columns32s:
            // Its first bytes are a columns32 tensor's, so the columns32 kernels read it too: where the
            // signs are not fused, and on the Cortex-M0 (COMPACT_COLUMN_SUMS: its flash).
            #if COMPACT_COLUMN_SUMS
            return codes ? .columnsPixels : .columnsBits
            #else
            return codes ? .columnsPixels : q.signs ? .columnsBitsBounds : .columnsBits
            #endif
        case .bits8:
            if case .carrySave = kernels {
                if codes {
                    return BlockedDenseKernel.unrollsWords13(planes: PixelPlanes.count(bits: q.codeBits), constantFirstPlane: q.codeBits < 8,
                                                             words: BitPacking.words(q.n)) ? .blockedPlanesCarrySave13 : .blockedPlanesCarrySave
                }
                return BlockedDenseKernel.unrollsHalves19(halves: (q.n &+ 31) >> 5) ? .blockedBitsCarrySave19 : .blockedBitsCarrySave
            }
            if q.four { return codes ? .blockedPlanes4 : .blockedBits4 }
            #if !_pointerBitWidth(_32)
            // One image: two blocks of rows per pass where it applies. FCN2 at batch 1 (native build, thread CPU
            // time, medians of 8 alternated runs): hidden layers 752-776 -> 680-698 ns, the first layer 1,736 ->
            // 1,611 ns (reports/issue15-roofline.md).
            if !codes { return BlockedDenseKernel.xorsRows16(words: BitPacking.words(q.n)) ? .blockedBitsRows16 : .blockedBits }
            if BlockedDenseKernel.pairsRows16(planes: PixelPlanes.count(bits: q.codeBits), constantFirstPlane: q.codeBits < 8,
                                              words: BitPacking.words(q.n)) { return .blockedPlanesRows16 }
            #endif
            return codes ? .blockedPlanes : .blockedBits
        default: return codes ? .fusedDensePlanes : .fusedDenseBits
        }
    }

    #if !_pointerBitWidth(_32)
    /// `choose` for a ternary dense layer: the one-pass kernels (BlockedDense+Ternary.swift) for bits8 planes on
    /// binary input or on codes it forms with the `simd` set; else (the reference set, which IS the reference; carry-save, which
    /// is the device's; columns32 and v1 bits planes; a first layer on codes) the binary kernel each plane
    /// runs on, chosen with the signs unfused.
    @_noAllocation @inline(__always)
    static func ternaryLayer(_ q: Query, _ kernels: KernelSet) -> Kernel {
        if case .simd = kernels, q.op == .dense, q.weights == .bits8 {
            if q.codeBits > 0 { return q.four ? .blockedPlanesTernary4 : .blockedPlanesTernary }
            if case .bits = q.input { return q.four ? .blockedBitsTernary4 : .blockedBitsTernary }
        }
        var plane = q
        (plane.ternary, plane.signs) = (false, false)
        return binaryLayer(plane, kernels)
    }

    /// Whether this kernel reads both planes of a ternary layer in one pass (and fuses its signs); the other
    /// kernels run on each plane in turn.
    public var readsBothPlanes: Bool {
        @_noAllocation @inline(__always) get {
            switch self {
            case .blockedBitsTernary, .blockedBitsTernary4, .blockedPlanesTernary, .blockedPlanesTernary4: return true
            default: return false
            }
        }
    }
    #endif

    /// Images one call of the kernel takes (4 for the batch kernels, else 1).
    @_noAllocation @inline(__always)
    public func imagesPerCall() -> Int {
        switch self {
        case .blockedBits4, .blockedPlanes4: return 4
        #if !_pointerBitWidth(_32)
        case .floatDenseSIMD4, .blockedBitsTernary4, .blockedPlanesTernary4: return 4
        #endif
        default: return 1
        }
    }

    /// Scratch bytes one image of step `q` needs with this kernel (`m` outputs): the codes' bit-planes,
    /// the column list and counters, a conv's accumulators, or the widened input of a float layer.
    @_noAllocation @inline(__always)
    /// A conv's kernel size and input channels (`size`, `channels`: its k x k x c receptive field) size the
    /// 32-bit conv kernels' scratch.
    public func scratchBytes(_ q: Query, m: Int, size: Int = 0, channels: Int = 0) -> Int {
        switch self {
        case .columnsBits, .columnsPixels: return ColumnDenseKernel.scratchBytes(n: q.n, m: m, codeBits: q.codeBits)
        case .columnsBitsBounds: return ColumnDenseKernel.boundsScratchBytes(n: q.n)
        case .blockedPlanes4, .blockedPlanes, .blockedPlanesCarrySave, .blockedPlanesCarrySave13, .fusedDensePlanes: return Self.planeBytes(q)
        #if !_pointerBitWidth(_32)
        case .blockedPlanesRows16, .blockedPlanesTernary, .blockedPlanesTernary4: return Self.planeBytes(q)
        #endif
        case .xorConv32: return XorConv32Kernel.scratchBytes(m: m, k: size, c: channels)
        case .planeConv32: return PlaneConv32Kernel.scratchBytes(m: m, patch: size &* size &* channels, bits: q.codeBits)
        case .floatDenseSIMD, .floatDenseReference, .floatConvReference: if case .f32 = q.input { return 0 }
            return 4 &* q.n
        #if !_pointerBitWidth(_32)
        case .floatConvSIMD: return FloatConvKernel.scratchBytes(n: q.n)
        #endif
        default: return 0
        }
    }

    /// The codes' bit-planes of one image of step `q` (the scratch of the kernels on planes).
    @_noAllocation @inline(__always)
    static func planeBytes(_ q: Query) -> Int { 8 &* PixelPlanes.count(bits: q.codeBits) &* BitPacking.words(q.n) }

    /// Persistent bytes of step `q` with this kernel (`m` outputs): the bit counts of the weight rows
    /// (u16 per row) of a first layer on the bit-planes of 2-bit codes, whose plane 0 is constant, so
    /// popcount(P_0 AND w) = popcount(w) is counted once at prepare time: for the carry-save kernels and
    /// the four-image SIMD8 one (a batch plan; its leftover images' one-image kernel reads them too). The
    /// one-image SIMD8 kernel alone counts as it goes, so a batch-1 host arena stays small (FCN2: 400 B,
    /// `make bench`'s arena goal); only for
    /// rows that `BlockedDenseKernel.keepsRowCounts` (longer rows are counted as the kernel goes). The ternary
    /// kernels keep the non-zero weights of each row (u16, `ternaryRowCounts`) on the same terms, and on codes
    /// popcount(u) + popcount(v) of each row (`ternaryPlaneRowCounts`) where 2n fits.
    @_noAllocation @inline(__always)
    public func persistentBytes(_ q: Query, m: Int) -> Int {
        switch self {
        case .blockedPlanesCarrySave, .blockedPlanesCarrySave13: break
        #if !_pointerBitWidth(_32)   // the device's code as it was: its instruction counts are pinned
        case .blockedPlanes4: break
        case .blockedBitsTernary, .blockedBitsTernary4:   // nnz of each row (ternaryRowCounts), the same for one image and four
            return BlockedDenseKernel.keepsRowCounts(n: q.n) ? ArenaPlan.align(2 &* BitPacking.blockedRows(m)) : 0
        case .blockedPlanesTernary, .blockedPlanesTernary4:   // popcount(u) + popcount(v) of each row, for the constant plane 0 of codes 2q + 1
            return q.codeBits < 8 && BlockedDenseKernel.keepsRowCounts(n: 2 &* q.n) ? ArenaPlan.align(2 &* BitPacking.blockedRows(m)) : 0
        #endif
        default: return 0
        }
        guard q.codeBits == 2 && BlockedDenseKernel.keepsRowCounts(n: q.n) else { return 0 }
        return ArenaPlan.align(2 &* BitPacking.blockedRows(m))
    }
}
