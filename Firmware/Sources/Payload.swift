// The payload QEMU's generic loader places in flash (`-device loader,file=payload.bin,addr=...`):
//
//   offset  0  u8[4] magic "BSDV"
//           4  u32   version (1)
//           8  u32   header bytes (64)
//          12  u32   model offset from the payload start (64-aligned)
//          16  u32   model image bytes
//          20  u32   images offset (from the payload start)
//          24  u32   image count
//          28  u32   bytes per image (u8 pixels, NHWC)
//          32  u32   flags (bit 0: print each image's instruction count)
//          36  u8[28] reserved, zero
//
// Little-endian. The model image is the bare image (`convert image`), read in place.

/// The payload header, checked against the flash it must fit in.
struct Payload {
    let base: UnsafePointer<UInt8>
    let modelOffset: Int, modelBytes: Int, imagesOffset: Int, imageCount: Int, imageBytes: Int, flags: Int

    /// The u32 at `offset`.
    static func u32(_ p: UnsafePointer<UInt8>, _ offset: Int) -> Int {
        Int(UnsafeRawPointer(p + offset).loadUnaligned(as: UInt32.self).littleEndian)
    }

    /// Reads the header; `nil` with a reason when it is not a valid payload of `capacity` bytes.
    static func read(_ base: UnsafePointer<UInt8>, capacity: Int, console: inout Console) -> Payload? {
        if base[0] != 0x42 || base[1] != 0x53 || base[2] != 0x44 || base[3] != 0x56 {
            console.put("error: no payload at the payload address (magic is not BSDV): pass -device loader,file=payload.bin,addr=...")
            console.line()
            return nil
        }
        let p = Payload(base: base, modelOffset: u32(base, 12), modelBytes: u32(base, 16), imagesOffset: u32(base, 20),
                        imageCount: u32(base, 24), imageBytes: u32(base, 28), flags: u32(base, 32))
        if u32(base, 4) != 1 || u32(base, 8) != 64 {
            console.put("error: payload version")
            console.field("version", u32(base, 4))
            console.field("header_bytes", u32(base, 8))
            console.put(" (expected 1 and 64)")
            console.line()
            return nil
        }
        let modelEnd = p.modelOffset + p.modelBytes
        let imagesEnd = p.imagesOffset + p.imageCount * p.imageBytes
        if p.modelOffset % 64 != 0 || modelEnd > capacity || imagesEnd > capacity || p.imageBytes == 0 {
            console.put("error: payload does not fit the flash")
            console.field("model_offset", p.modelOffset)
            console.field("model_end", modelEnd)
            console.field("images_end", imagesEnd)
            console.field("capacity", capacity)
            console.line()
            return nil
        }
        return p
    }

    /// The model image, in place.
    var model: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + modelOffset, count: modelBytes) }

    /// Image `i`'s pixels.
    func image(_ i: Int) -> UnsafePointer<UInt8> { base + imagesOffset + i * imageBytes }
}
