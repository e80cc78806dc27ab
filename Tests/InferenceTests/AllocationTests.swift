import CAllocationCounter
import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// `invoke()` performs no heap allocation (mallocs counted by interposition), and `prepare` reports a
/// too-small arena with both sizes.
final class AllocationTests: XCTestCase {
    func image(_ precision: ModelConfig.Precision, conv: Bool, layout: DenseLayout = .bits8, sparsity: Float = 0) throws -> [UInt8] {
        var m = conv ? ModelConfig.conv(precision: precision, inputBits: 2) : ModelConfig.fcn2(precision: precision, inputBits: 2)
        if conv { m.convChannels = [4, 8]; m.hidden = [16] } else { m.hidden = [64, 32] }
        m.weightSparsity = sparsity   // > 0: ternary dense layers (format version 5)
        return try ImageExport.image(of: try Network(config: m, seed: 1), denseLayout: layout)
    }

    func testInvokeAllocatesNothing() throws {
        // The counter must see allocations when they happen.
        bitshield_allocations_start()
        // A count the optimizer cannot fold away (the argument count), so the array is really allocated; no randomness.
        let probe = [Int](repeating: 1, count: 1000 + CommandLine.arguments.count % 2)
        XCTAssertGreaterThan(bitshield_allocations_stop(), 0, "the malloc counter is not interposed")
        XCTAssertEqual(probe.count > 0, true)

        // The ternary FCN (sparsity 0.5) runs the one-pass ternary kernels with `optimized` on 64-bit hosts, the
        // two-plane path with the others.
        for (precision, conv, layout, sparsity) in [(ModelConfig.Precision.binary, false, DenseLayout.bits8, Float(0)), (.binary, true, .bits8, 0),
                                                    (.xnor, false, .bits8, 0), (.float, false, .bits8, 0), (.float, true, .bits8, 0),
                                                    (.binary, false, .columns32, 0), (.binary, true, .columns32, 0), (.binary, false, .bits8, 0.5)] {
            let bytes = try image(precision, conv: conv, layout: layout, sparsity: sparsity)
            try bytes.withUnsafeBytes { raw in
                let image = try ModelImage(bytes: raw)
                let pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: 784)
                defer { pixels.deallocate() }
                for i in 0..<784 { pixels[i] = UInt8(i % 256) }
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: 10)
                defer { scores.deallocate() }
                for kernels in [KernelSet.optimized, .reference, .carrySave] {
                    // Each kernel set on an arena of exactly its plan, with a guard band after it.
                    let guarded = GuardedArena(bytes: Interpreter.arenaBytes(for: image, kernels: kernels))
                    let it = try Interpreter(image: raw, arena: guarded.arena, kernels: kernels)
                    _ = it.invoke(pixels, scores: scores)
                    bitshield_allocations_start()
                    for _ in 0..<3 { _ = it.invoke(pixels, scores: scores) }
                    XCTAssertEqual(bitshield_allocations_stop(), 0, "\(precision) conv \(conv) \(layout) \(kernels)")
                    guarded.check("\(precision) conv \(conv) \(layout) \(kernels)")
                }
                // A batch of five: four per pass over the weights, then one.
                let batchGuarded = GuardedArena(bytes: Interpreter.arenaBytes(for: image, batch: 5))
                defer { batchGuarded.check("\(precision) conv \(conv) \(layout) batch") }
                let batchArena = batchGuarded.arena
                let five = UnsafeMutablePointer<UInt8>.allocate(capacity: 5 * 784)
                defer { five.deallocate() }
                for i in 0..<(5 * 784) { five[i] = UInt8((i * 7) % 256) }
                let classes = UnsafeMutablePointer<Int>.allocate(capacity: 5)
                defer { classes.deallocate() }
                let it = try Interpreter(image: raw, arena: batchArena, batch: 5)
                it.invoke(batch: five, count: 5, classes: classes)
                bitshield_allocations_start()
                it.invoke(batch: five, count: 5, classes: classes)
                XCTAssertEqual(bitshield_allocations_stop(), 0, "\(precision) conv \(conv) \(layout) batch")
            }
        }
    }

    /// The arena of FCN2 binary with 2-bit input, pinned: the first layer's bit-planes (3 x 13 words) and
    /// its 600-bit output, 312 + 80 bytes, aligned to 16 (the largest step; later steps need 160). A batch
    /// plan and the carry-save kernels add the first layer's 600 row counts (u16, 1,200 B: popcount(w) of
    /// each row, for the constant plane 0 of the codes 2q + 1), kept from prepare on.
    func testFCN2BinaryArenaIs400Bytes() throws {
        let bytes = try ImageExport.image(of: try Network(config: .fcn2(precision: .binary, inputBits: 2), seed: 1))
        try bytes.withUnsafeBytes { raw in
            let image = try ModelImage(bytes: raw)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .optimized), 400)
            // Reference: one value per op, the input codes (784 B) and the largest, 600 f32 accumulators (2,400 B).
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .reference), 784 + 2400)
            // Batches hold one 16-byte-aligned value per image: 400 bytes an image; the row counts once.
            XCTAssertEqual(Interpreter.arenaBytes(for: image, batch: 3), 3 * 400, "no four-image pass, no row counts")
            XCTAssertEqual(Interpreter.arenaBytes(for: image, batch: 4), 4 * 400 + 1200)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, batch: 256), 256 * 400 + 1200)
            // The microcontrollers' carry-save kernels keep the row counts at every batch.
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .carrySave), 400 + 1200)
        }
    }

    /// FCN2 in columns32, pinned: the first layer's step is the largest, 1,568 B of column list (784
    /// u16) + its two counters of 16 planes x 4 B (2-bit codes go by levels, one lane group after
    /// another: 2,864 B with a counter per group before issue 14) + the 600-bit output (80 B); nothing
    /// persists, so every kernel set but the reference plans the same.
    func testFCN2ColumnsArenaIs1776Bytes() throws {
        let bytes = try ImageExport.image(of: try Network(config: .fcn2(precision: .binary, inputBits: 2), seed: 1), denseLayout: .columns32)
        try bytes.withUnsafeBytes { raw in
            let image = try ModelImage(bytes: raw)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .simd), 1568 + 2 * 16 * 4 + 80)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .carrySave), 1776)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .reference), 784 + 2400)
            XCTAssertEqual(Interpreter.arenaBytes(for: image, batch: 4), 4 * 1776)
        }
    }

    func testArenaTooSmallNamesBothSizes() throws {
        let bytes = try image(.binary, conv: false)
        try bytes.withUnsafeBytes { raw in
            let needs = Interpreter.arenaBytes(for: try ModelImage(bytes: raw))
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needs - 16, alignment: 16)
            defer { arena.deallocate() }
            XCTAssertThrowsError(try Interpreter(image: raw, arena: arena)) {
                XCTAssertEqual(($0 as? InferenceError)?.message, "arena too small: needs \(needs), has \(needs - 16)")
            }
        }
    }
}
