/// What a device payload (DevicePayload.swift) can be wrong about, with the numbers. Typed, so the
/// firmware (Embedded Swift) prints the same message the host would; few cases with the field named,
/// so the firmware carries little message code.
public enum DevicePayloadError: Error, Equatable {
    /// The first four bytes, little-endian, are not "BSDV" (nothing was loaded at the payload address).
    case badMagic(UInt64)
    /// A header field holds a value the layout forbids: `field` is `value`, and `rule` says what it must be.
    case badField(field: String, value: UInt64, rule: String)
    /// A part (`what`) ends at byte `end`, past `limit` (the payload area's capacity, or where the next part starts).
    case pastEnd(what: String, end: UInt64, limit: UInt64)
    /// The pixels given to the encoder are not `imageCount` images of `imageBytes`.
    case pixelCount(Int, imageCount: Int, imageBytes: Int)

    /// A message with the numbers.
    public var message: String {
        switch self {
        case let .badMagic(magic):
            return "no payload at the payload address: magic \(magic) is not \"BSDV\" (pass -device loader,file=payload.bin,addr=...)"
        case let .badField(field, value, rule):
            return "payload \(field) is \(value): \(rule)"
        case let .pastEnd(what, end, limit):
            return "payload \(what) ends at byte \(end), past \(limit)"
        case let .pixelCount(count, imageCount, imageBytes):
            return "payload given \(count) bytes of pixels for \(imageCount) images of \(imageBytes) bytes"
        }
    }
}
