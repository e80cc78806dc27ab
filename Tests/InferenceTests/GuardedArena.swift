import XCTest
@testable import Inference
@testable import ModelFormat

/// An arena of exactly the planned size followed by a guard band of canary bytes: a kernel or plan that
/// writes past `arenaBytes` changes the canaries, and `check` fails the test with the first changed
/// offset. The arena itself may be poisoned with a pattern (a step that reads what it never wrote then
/// shows up as a difference in the scores).
final class GuardedArena {
    /// Canary bytes after the arena.
    static let guardBytes = 256
    /// The canary byte at offset `i` of the guard band (not constant, so a memset of any one byte shows).
    static func canary(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: 0xB7 &+ 31 &* i) }

    let storage: UnsafeMutableRawBufferPointer
    /// The arena the interpreter gets: the first `count` bytes of the storage.
    let arena: UnsafeMutableRawBufferPointer

    /// An arena of `bytes` bytes filled with `poison`, then the guard band.
    init(bytes: Int, poison: UInt8 = 0xA5) {
        storage = .allocate(byteCount: bytes + GuardedArena.guardBytes, alignment: 16)
        arena = UnsafeMutableRawBufferPointer(rebasing: storage[0..<bytes])
        for i in 0..<bytes { storage[i] = poison }
        for i in 0..<GuardedArena.guardBytes { storage[bytes + i] = GuardedArena.canary(i) }
    }

    /// Fails the calling test if any canary changed.
    func check(_ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<GuardedArena.guardBytes where storage[arena.count + i] != GuardedArena.canary(i) {
            XCTFail("\(what()): a write \(i) bytes past the \(arena.count)-byte arena", file: file, line: line)
            return
        }
    }

    deinit { storage.deallocate() }
}
