/// Little-endian reads from raw image bytes. Callers check bounds first (ModelImage validates every
/// offset before it reads). A u32 becomes an Int by `Int(clamping:)`, never `Int(_:)`: on a 32-bit device
/// a value past Int32.max (a hostile dimension, offset or NaN pattern) would trap; clamped to Int.max it
/// fails the check it meets instead (exact on 64-bit hosts).
@usableFromInline
struct RawBytes {
    @usableFromInline let base: UnsafeRawPointer

    @inlinable init(_ base: UnsafeRawPointer) { self.base = base }

    @inlinable func u8(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }
    @inlinable func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    @inlinable func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
}

/// Little-endian appends, for the writer.
extension Array where Element == UInt8 {
    @inlinable mutating func appendLE(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    @inlinable mutating func appendLE(_ v: UInt32) {
        append(UInt8(v & 0xff)); append(UInt8((v >> 8) & 0xff)); append(UInt8((v >> 16) & 0xff)); append(UInt8(v >> 24))
    }
    @inlinable mutating func padTo(_ alignment: Int) {
        while count % alignment != 0 { append(0) }
    }
}
