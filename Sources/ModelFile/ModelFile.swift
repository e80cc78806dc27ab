import ModelFormat

// The `.bsm` container around the image (spec/FORMAT.md, "The .bsm container"): a 64-byte header,
// JSON metadata, then the image, zlib-compressed or stored, with sizes and CRC-32s of each part and the
// image's SHA-256. The reader checks everything before it decompresses or trusts anything, then
// validates the image itself and the metadata against it (ModelMetadata.swift).

/// A `.bsm` file: metadata and a validated image.
public struct ModelFile {
    /// "BSM1".
    public static let magic: [UInt8] = [0x42, 0x53, 0x4D, 0x31]
    /// Container version this code writes and the newest it reads.
    public static let version: UInt16 = 1
    /// Header size.
    public static let headerBytes = 64
    /// Largest metadata accepted.
    public static let maxMetadataBytes = 1 << 20
    /// Largest image accepted.
    public static let maxImageBytes = 64 << 20
    /// Largest stored (compressed) image accepted: zlib may grow an incompressible image a little.
    public static let maxStoredBytes = maxImageBytes + 1024
    /// Largest `.bsm` file: header, metadata and stored image at their caps (what a tool may read whole).
    public static let maxFileBytes = headerBytes + maxMetadataBytes + maxStoredBytes

    /// The metadata JSON (UTF-8).
    public var metadata: [UInt8]
    /// The image bytes (decompressed).
    public var image: [UInt8]
    /// Whether the image is stored compressed.
    public var compressed: Bool
    /// Bytes of the image as stored.
    public var storedBytes: Int

    /// A file from metadata and an image.
    public init(metadata: [UInt8], image: [UInt8], compressed: Bool = true) {
        self.metadata = metadata
        self.image = image
        self.compressed = compressed
        storedBytes = 0
    }

    /// SHA-256 of the image.
    public var imageSHA256: [UInt8] { SHA256.hash(image) }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        ModelFile.assemble(metadata: metadata, stored: compressed ? Zlib.compress(image) : image, image: image, compressed: compressed)
    }

    /// The container around `stored` (the image as stored, `image` once decompressed): the header with
    /// every size, CRC-32 and the SHA-256 computed from the parts, then the metadata and the stored bytes.
    /// Tests use it to build files whose checksums are right and whose content is hostile.
    static func assemble(metadata: [UInt8], stored: [UInt8], image: [UInt8], compressed: Bool) -> [UInt8] {
        var out: [UInt8] = ModelFile.magic
        out.appendLE16(ModelFile.version)
        out.appendLE16(compressed ? 1 : 0)
        out.appendLE32(UInt32(metadata.count)); out.appendLE32(Zlib.crc32(metadata))
        out.appendLE32(UInt32(stored.count)); out.appendLE32(Zlib.crc32(stored))
        out.appendLE32(UInt32(image.count)); out.appendLE32(Zlib.crc32(image))
        out += SHA256.hash(image)
        return out + metadata + stored
    }

    /// Parses and checks a file's bytes: header, sizes, CRCs, decompression, digest, then the image.
    public static func parse(_ bytes: [UInt8]) throws(ModelFormatError) -> ModelFile {
        guard bytes.count >= headerBytes else { throw .truncated(what: .containerHeader, needs: headerBytes, has: bytes.count) }
        guard Array(bytes[0..<4]) == magic else { throw .badMagic(expected: .file) }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        let version = u16(4)
        guard version >= 1 else { throw .badField(what: .containerVersion, value: version, rule: .atLeast(1)) }
        guard version <= Int(ModelFile.version) else { throw .unsupportedVersion(found: version, newest: Int(ModelFile.version)) }
        let flags = u16(6)
        guard flags & ~1 == 0 else { throw .badField(what: .containerFlags, value: flags, rule: .compressedBitOnly) }
        let (metaBytes, metaCRC, storedBytes, storedCRC, imageBytes, imageCRC) = (u32(8), u32(12), u32(16), u32(20), u32(24), u32(28))
        guard metaBytes <= maxMetadataBytes else { throw .badField(what: .metadataBytes, value: metaBytes, rule: .atMost(maxMetadataBytes)) }
        guard imageBytes <= maxImageBytes, storedBytes <= maxStoredBytes else {
            throw .badField(what: .imageBytes, value: imageBytes, rule: .atMost(maxImageBytes))
        }
        let expected = headerBytes + metaBytes + storedBytes
        guard bytes.count >= expected else { throw .truncated(what: .modelFile, needs: expected, has: bytes.count) }
        guard bytes.count == expected else {
            throw .container("\(bytes.count - expected) trailing bytes after the image (file has \(bytes.count), header accounts for \(expected))")
        }
        let metadata = Array(bytes[headerBytes..<(headerBytes + metaBytes)])
        try checkCRC32(of: metadata, "metadata", header: metaCRC)
        let fields = try ModelMetadata.parse(metadata)
        let stored = Array(bytes[(headerBytes + metaBytes)...])
        try checkCRC32(of: stored, "stored image", header: storedCRC)
        let compressed = flags & 1 == 1
        let image: [UInt8]
        if compressed {
            image = try Zlib.decompress(stored, expectedBytes: imageBytes)
        } else {
            guard storedBytes == imageBytes else {
                throw .container("stored image has \(storedBytes) bytes, the header says \(imageBytes) uncompressed")
            }
            image = stored
        }
        try checkCRC32(of: image, "image", header: imageCRC)
        let sha256 = Array(bytes[32..<64])
        try checkSHA256(of: image, header: sha256)
        // The image must be a valid model image too, and the metadata must not contradict it.
        var imageError: ModelFormatError? = nil
        image.withUnsafeBytes { raw in
            do throws(ModelFormatError) {
                let model = try ModelImage(bytes: raw)
                try fields.check(sha256: sha256, image: model)
            } catch { imageError = error }
        }
        if let imageError { throw imageError }
        var file = ModelFile(metadata: metadata, image: image, compressed: compressed)
        file.storedBytes = storedBytes
        return file
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE16(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    mutating func appendLE32(_ v: UInt32) { for i in 0..<4 { append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
}
