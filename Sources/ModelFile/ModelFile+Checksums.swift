import ModelFormat

// The container's checksums (spec/FORMAT.md, "Container"): a CRC-32 (zlib's, ISO-HDLC) over each of the
// metadata, the stored image bytes and the uncompressed image, and the SHA-256 of the uncompressed image,
// which also names the model (sweep journals, metadata `image_sha256`). `ModelFile.parse` checks them in
// that order, so a corrupted part is named before anything is decompressed or read from it.

extension ModelFile {
    /// Refuses `part` unless its CRC-32 equals the header's, naming both.
    static func checkCRC32(of part: [UInt8], _ name: String, header: Int) throws(ModelFormatError) {
        let crc = Zlib.crc32(part)
        guard crc == UInt32(header) else { throw .container("\(name) CRC-32 is \(crc), the header says \(header)") }
    }

    /// Refuses `image` unless its SHA-256 equals the header's, naming both (hex).
    static func checkSHA256(of image: [UInt8], header: [UInt8]) throws(ModelFormatError) {
        let digest = SHA256.hash(image)
        guard digest == header else {
            throw .container("image SHA-256 is \(hex(digest)), the header says \(hex(header))")
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
