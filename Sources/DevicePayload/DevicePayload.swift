// The device payload: what `infer --device` writes and QEMU's generic loader places in a board's flash
// (`-device loader,file=payload.bin,addr=PAYLOAD_ADDRESS`), and what the firmware reads in place. This
// file is the one statement of its layout; the host encoder (`DevicePayload.encode`) and the firmware
// (Firmware/Sources/Main.swift, through `DevicePayload(reading:)`) both compile it, so they cannot
// disagree. Standard library only, typed throws: it builds in Embedded Swift for the boards.
//
//   offset  size   field
//        0  u8[4]  magic "BSDV"
//        4  u32    version (1)
//        8  u32    header bytes (64)
//       12  u32    model offset from the payload start (a multiple of 64, at least 64)
//       16  u32    model image bytes (the bare image of `convert image`, read in place)
//       20  u32    images offset from the payload start (at or after the model's end)
//       24  u32    image count
//       28  u32    bytes per image (u8 pixels, NHWC; at least 1)
//       32  u32    flags (bit 0: print each image's instruction count; other bits must be 0)
//       36  u8[28] reserved, zero
//
// Little-endian. Everything (the model and the last image included) lies within the payload area's
// capacity (`payload_capacity` in firmware.txt: flash from the payload address to the end of flash).
// The host places the model at 64 and the images at the next multiple of 64 after it.

/// A checked payload header: the offsets and sizes of its parts, each within the capacity it was
/// checked against (so every `Int` here fits the 32-bit boards' `Int`).
public struct DevicePayload: Equatable {
    /// "BSDV".
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x42, 0x53, 0x44, 0x56)
    /// The layout version this code reads and writes.
    public static let version = 1
    /// The header's size, and the model offset the host writes.
    public static let headerBytes = 64
    /// The model image's offset is a multiple of this (the image's tensors are 64-aligned relative to it).
    public static let modelAlignment = 64
    /// The flags this version knows: bit 0 asks for each image's instruction count.
    public static let perImageCountsFlag = 1

    /// Byte offsets of the header's fields.
    enum Field {
        static let magic = 0, version = 4, headerBytes = 8, modelOffset = 12, modelBytes = 16
        static let imagesOffset = 20, imageCount = 24, imageBytes = 28, flags = 32, reserved = 36
    }

    public let modelOffset: Int, modelBytes: Int, imagesOffset: Int, imageCount: Int, imageBytes: Int, flags: Int

    /// The bytes from the payload start to the end of the last image.
    public var totalBytes: Int { imagesOffset + imageCount * imageBytes }

    /// The layout the host writes: the model at 64, the images at the next multiple of 64 after it;
    /// throws when a part does not fit `capacity` (or a u32 field).
    public init(modelBytes: Int, imageCount: Int, imageBytes: Int, flags: Int = 0, capacity: Int) throws(DevicePayloadError) {
        let imagesOffset = DevicePayload.imagesOffset(modelBytes: modelBytes)
        // A negative value (no caller has one) becomes too large for its field rather than wrapping.
        func field(_ v: Int) -> UInt64 { v < 0 ? .max : UInt64(v) }
        try self.init(checking: UInt64(DevicePayload.headerBytes), modelBytes: field(modelBytes),
                      imagesOffset: field(imagesOffset), imageCount: field(imageCount), imageBytes: field(imageBytes),
                      flags: field(flags), capacity: capacity)
    }

    /// Reads and checks the header at the start of `payload` (the whole payload area: its count is the
    /// capacity). The firmware calls this on the flash QEMU's loader filled.
    public init(reading payload: UnsafeRawBufferPointer) throws(DevicePayloadError) {
        guard payload.count >= DevicePayload.headerBytes else {
            throw .pastEnd(what: "header", end: UInt64(DevicePayload.headerBytes), limit: UInt64(payload.count))
        }
        func u32(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        let m = DevicePayload.magic
        guard payload[0] == m.0, payload[1] == m.1, payload[2] == m.2, payload[3] == m.3 else { throw .badMagic(u32(Field.magic)) }
        guard u32(Field.version) == UInt64(DevicePayload.version) else {
            throw .badField(field: "version", value: u32(Field.version), rule: "this code reads version 1")
        }
        guard u32(Field.headerBytes) == UInt64(DevicePayload.headerBytes) else {
            throw .badField(field: "header bytes", value: u32(Field.headerBytes), rule: "version 1 has 64")
        }
        var offset = Field.reserved
        while offset < DevicePayload.headerBytes {
            guard payload[offset] == 0 else { throw .badField(field: "reserved byte", value: UInt64(offset), rule: "must be zero") }
            offset += 1
        }
        try self.init(checking: u32(Field.modelOffset), modelBytes: u32(Field.modelBytes),
                      imagesOffset: u32(Field.imagesOffset), imageCount: u32(Field.imageCount),
                      imageBytes: u32(Field.imageBytes), flags: u32(Field.flags), capacity: payload.count)
    }

    /// The one set of rules both sides apply, on 64-bit values so no product or sum of u32 fields can
    /// overflow (the largest, 2^32 - 1 + (2^32 - 1)^2, is below 2^64) and no field reaches an `Int`
    /// before it is known to lie within `capacity`.
    private init(checking modelOffset: UInt64, modelBytes: UInt64, imagesOffset: UInt64, imageCount: UInt64,
                 imageBytes: UInt64, flags: UInt64, capacity: Int) throws(DevicePayloadError) {
        func u32(_ field: String, _ value: UInt64) throws(DevicePayloadError) {
            guard value <= UInt64(UInt32.max) else { throw .badField(field: field, value: value, rule: "does not fit its u32 field") }
        }
        try u32("model bytes", modelBytes)
        try u32("images offset", imagesOffset)
        try u32("image count", imageCount)
        try u32("bytes per image", imageBytes)
        try u32("flags", flags)
        guard flags & ~UInt64(DevicePayload.perImageCountsFlag) == 0 else {
            throw .badField(field: "flags", value: flags, rule: "only bit 0 is defined")
        }
        guard modelOffset >= UInt64(DevicePayload.headerBytes), modelOffset % UInt64(DevicePayload.modelAlignment) == 0 else {
            throw .badField(field: "model offset", value: modelOffset, rule: "must be a multiple of 64 after the 64-byte header")
        }
        guard imageBytes > 0 else { throw .badField(field: "bytes per image", value: 0, rule: "must be at least 1") }
        let cap = UInt64(max(capacity, 0))   // a negative capacity holds nothing (no trap converting it)
        let modelEnd = modelOffset + modelBytes
        guard modelEnd <= cap else { throw .pastEnd(what: "model image", end: modelEnd, limit: cap) }
        guard imagesOffset >= modelEnd else { throw .pastEnd(what: "model image", end: modelEnd, limit: imagesOffset) }
        let imagesEnd = imagesOffset + imageCount * imageBytes
        guard imagesEnd <= cap else { throw .pastEnd(what: "images", end: imagesEnd, limit: cap) }
        self.modelOffset = Int(modelOffset)
        self.modelBytes = Int(modelBytes)
        self.imagesOffset = Int(imagesOffset)
        self.imageCount = Int(imageCount)
        self.imageBytes = Int(imageBytes)
        self.flags = Int(flags)
    }

    /// Where the host puts the images after a model of `modelBytes`: the next multiple of 64 after it
    /// (saturating, so a hostile size is refused by the checks rather than overflowing here).
    static func imagesOffset(modelBytes: Int) -> Int {
        let align = DevicePayload.modelAlignment
        let (end, overflow) = DevicePayload.headerBytes.addingReportingOverflow(max(modelBytes, 0))
        return overflow || end > Int.max - align ? Int.max : (end + align - 1) / align * align
    }

    /// The most images of `imageBytes` each that fit after a model of `modelBytes` in a payload area of
    /// `capacity` bytes; throws when not even one does.
    public static func imagesPerPayload(modelBytes: Int, imageBytes: Int, capacity: Int) throws(DevicePayloadError) -> Int {
        let one = try DevicePayload(modelBytes: modelBytes, imageCount: 1, imageBytes: imageBytes, capacity: capacity)
        return (capacity - one.imagesOffset) / one.imageBytes
    }

    /// The 64-byte header of this layout.
    public var header: [UInt8] {
        var out = [UInt8](repeating: 0, count: DevicePayload.headerBytes)
        let m = DevicePayload.magic
        out[0] = m.0; out[1] = m.1; out[2] = m.2; out[3] = m.3
        func put(_ offset: Int, _ value: Int) {
            for b in 0..<4 { out[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * b)) }
        }
        put(Field.version, DevicePayload.version)
        put(Field.headerBytes, DevicePayload.headerBytes)
        put(Field.modelOffset, modelOffset)
        put(Field.modelBytes, modelBytes)
        put(Field.imagesOffset, imagesOffset)
        put(Field.imageCount, imageCount)
        put(Field.imageBytes, imageBytes)
        put(Field.flags, flags)
        return out
    }

    /// The model image inside `payload` (the buffer this header was read from), in place.
    @inlinable
    public func model(in payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: payload[modelOffset..<(modelOffset + modelBytes)])
    }

    /// Image `i`'s pixels inside `payload`.
    @inlinable
    public func image(_ i: Int, in payload: UnsafeRawBufferPointer) -> UnsafePointer<UInt8> {
        (payload.baseAddress! + imagesOffset + i * imageBytes).assumingMemoryBound(to: UInt8.self)
    }

    /// The whole payload the host writes: header, `model` at 64, `pixels` (`imageCount` images of
    /// `imageBytes` each) at the next multiple of 64; checked against `capacity` by the same rules the
    /// firmware applies when it reads it.
    public static func encode(model: [UInt8], pixels: ArraySlice<UInt8>, imageCount: Int, imageBytes: Int, flags: Int = 0,
                              capacity: Int) throws(DevicePayloadError) -> [UInt8] {
        let layout = try DevicePayload(modelBytes: model.count, imageCount: imageCount, imageBytes: imageBytes,
                                       flags: flags, capacity: capacity)
        guard pixels.count == layout.imageCount * layout.imageBytes else {
            throw .pixelCount(pixels.count, imageCount: imageCount, imageBytes: imageBytes)
        }
        var out = layout.header
        out.reserveCapacity(layout.totalBytes)
        out += [UInt8](repeating: 0, count: layout.modelOffset - out.count)
        out += model
        out += [UInt8](repeating: 0, count: layout.imagesOffset - out.count)
        out += pixels
        return out
    }
}
