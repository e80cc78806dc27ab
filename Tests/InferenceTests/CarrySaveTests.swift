import Trainer
import XCTest
@testable import Inference

/// The carry-save popcounts (the device's kernels on 32-bit targets) against the SIMD8 ones and a
/// bit-by-bit count: every length 0...40 (blocks of four and every tail), random and extreme words.
final class CarrySaveTests: XCTestCase {
    func bitByBit(_ a: [UInt64], _ b: [UInt64], _ op: (UInt64, UInt64) -> UInt64) -> Int {
        var n = 0
        for j in 0..<a.count { var v = op(a[j], b[j]); while v != 0 { n += Int(v & 1); v >>= 1 } }
        return n
    }

    func testAgreesWithTheReferenceOnEveryLength() {
        var g = SeededRandom(seed: 31)   // seeded: a failure reproduces
        for words in 0...40 {
            for trial in 0..<6 {
                let a: [UInt64], b: [UInt64]
                switch trial {
                case 0: (a, b) = ([UInt64](repeating: .max, count: words), [UInt64](repeating: 0, count: words))
                case 1: (a, b) = ([UInt64](repeating: .max, count: words), [UInt64](repeating: .max, count: words))
                default: (a, b) = ((0..<words).map { _ in g.next() }, (0..<words).map { _ in g.next() })
                }
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        let x = pa.baseAddress ?? UnsafePointer(bitPattern: 8)!, y = pb.baseAddress ?? UnsafePointer(bitPattern: 8)!
                        let xorCount = bitByBit(a, b, ^), andCount = bitByBit(a, b, &)
                        XCTAssertEqual(Popcount.xorCarrySave(x, y, words: words), xorCount, "xor, \(words) words")
                        XCTAssertEqual(Popcount.andCarrySave(x, y, words: words), andCount, "and, \(words) words")
                        XCTAssertEqual(Popcount.xor(x, y, words: words), xorCount)
                        XCTAssertEqual(Popcount.and(x, y, words: words), andCount)
                        XCTAssertEqual(Popcount.xorWords(x, y, words: words), xorCount)
                        XCTAssertEqual(Popcount.andWords(x, y, words: words), andCount)
                    }
                }
            }
        }
    }
}
