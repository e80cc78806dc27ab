import DevicePayload
import Inference
import ModelFormat

// The BitShield device firmware: one binary for every model. It reads the payload in flash (model
// image + test images, placed by QEMU's loader; its layout and checks are Sources/DevicePayload, the
// code the host encoder uses, compiled into this firmware by scripts/build-firmware.sh), validates the image (Interpreter.init does), runs
// every image with a static arena, and prints, in lines the host tool parses:
//
//   bitshield-firmware 1
//   model image_bytes=.. arena_bytes=.. arena_capacity=.. input_bytes=.. classes=.. images=.. init_instructions=..
//   p FIRST CLASSES          predictions of images FIRST..., one character each (0-9a-zA-Z) for up to
//                            62 classes, else comma-separated decimals
//   c FIRST N N ...          with flag bit 0: each image's instruction count
//   instructions total=.. min=.. max=.. overhead=..
//   memory data=.. bss=.. stack_high_water=.. stack_reserved=.. heap=.. flash_firmware=..
//   done
//
// Instruction counts come from fw_counter_read (a timer ticking per retired instruction under
// QEMU's -icount shift=0) around each invoke(), minus the cost of reading the counter; init_instructions
// is Interpreter.init (validation, arena plan, persistent data) counted the same way, in counter ticks.

/// The digits of one-character predictions.
let predictionAlphabet: StaticString = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/// The payload QEMU's loader placed in flash, checked by the code the host encoder uses (DevicePayload);
/// nil after printing why it is not valid. Not inlined: main's frame (the stack high-water the device
/// tests pin) stays as it was without the header's checks.
@inline(never)
func readPayload(_ area: UnsafeRawBufferPointer, console: inout Console) -> DevicePayload? {
    do {
        return try DevicePayload(reading: area)
    } catch {
        console.put("error: ")
        console.put(string: error.message)
        console.line()
        return nil
    }
}

@_cdecl("bitshield_main")
public func bitshieldMain() -> Int32 {
    var console = Console()
    console.put("bitshield-firmware 1")
    console.line()
    let area = UnsafeRawBufferPointer(start: fw_payload(), count: Int(fw_payload_capacity()))
    guard let payload = readPayload(area, console: &console) else { return 1 }
    let model = payload.model(in: area)

    let arena = UnsafeMutableRawBufferPointer(start: fw_arena_start(), count: Int(fw_arena_bytes()))
    let interpreter: Interpreter
    // Validating the image and planning the arena is counted too (init_instructions): the reader's cost
    // on a device grows with the tables, and the spec keeps it linear.
    fw_counter_start()
    let initStart = fw_counter_read()
    do {
        interpreter = try Interpreter(image: model, arena: arena)
    } catch {
        console.put("error: ")
        #if BITSHIELD_HOST_MESSAGES
        console.put(string: error.message)
        #else
        // The minimal firmware (BOARD-minimal) carries no error text: infer checks the model on the host first.
        console.put("the model image was refused at init (this minimal firmware carries no error text: run infer MODEL on the host)")
        #endif
        console.line()
        return 1
    }
    let initInstructions = Int(fw_counter_read() &- initStart)
    // Taken after the counted init (computed before it, the pointer cost Interpreter.init's count 7
    // instructions of register pressure on the M4).
    let firstImage = payload.image(0, in: area)
    let fp = interpreter.footprint
    let classes = Int(interpreter.image.header.classes)
    console.put("model")
    console.field("image_bytes", fp.imageBytes)
    console.field("arena_bytes", fp.arenaBytes)
    console.field("arena_capacity", arena.count)
    console.field("input_bytes", fp.inputBytes)
    console.field("classes", classes)
    console.field("images", payload.imageCount)
    console.field("init_instructions", initInstructions)
    console.line()
    if payload.imageBytes != fp.inputBytes {
        console.put("error: the payload's images have")
        console.field("image_bytes", payload.imageBytes)
        console.put(", the model takes")
        console.field("input_bytes", fp.inputBytes)
        console.line()
        return 1
    }

    let a = fw_counter_read()
    let b = fw_counter_read()
    let overhead = Int(b &- a)
    var total = 0, least = Int.max, most = 0
    let perImage = payload.flags & DevicePayload.perImageCountsFlag != 0
    let compact = classes <= 62
    var i = 0
    while i < payload.imageCount {
        // One output line per chunk of images: predictions, then (optionally) counts.
        let chunk = min(compact ? 64 : 16, payload.imageCount - i)
        var predictions = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                           UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var counts = predictions
        withUnsafeMutableBytes(of: &predictions) { pBytes in
            withUnsafeMutableBytes(of: &counts) { cBytes in
                let p = pBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let c = cBytes.baseAddress!.assumingMemoryBound(to: UInt32.self)
                for k in 0..<chunk {
                    let pixels = firstImage + (i + k) * payload.imageBytes
                    let t0 = fw_counter_read()
                    let cls = interpreter.invoke(pixels)
                    let t1 = fw_counter_read()
                    let n = Int(t1 &- t0) - overhead
                    p[k] = UInt8(truncatingIfNeeded: cls)
                    c[k % 32] = UInt32(truncatingIfNeeded: n)
                    total += n
                    least = min(least, n)
                    most = max(most, n)
                    if perImage && k % 32 == 31 || perImage && k == chunk - 1 {
                        console.put("c ")
                        console.put(i + k - k % 32)
                        for j in 0...(k % 32) { console.put(" "); console.put(Int(c[j])) }
                        console.line()
                    }
                }
                console.put("p ")
                console.put(i)
                console.put(" ")
                for k in 0..<chunk {
                    if compact {
                        predictionAlphabet.withUTF8Buffer { console.put(byte: $0[Int(p[k])]) }
                    } else {
                        if k > 0 { console.put(",") }
                        console.put(Int(p[k]))
                    }
                }
                console.line()
            }
        }
        i += chunk
    }
    console.put("instructions")
    console.field("total", total)
    console.field("min", payload.imageCount == 0 ? 0 : least)
    console.field("max", most)
    console.field("overhead", overhead)
    console.line()
    console.put("memory")
    console.field("data", Int(fw_data_bytes()))
    console.field("bss", Int(fw_bss_bytes()))
    console.field("stack_high_water", Int(fw_stack_high_water()))
    console.field("stack_reserved", Int(fw_stack_bytes()))
    console.field("heap", Int(fw_heap_high_water()))
    console.field("flash_firmware", Int(fw_flash_bytes()))
    console.line()
    console.put("done")
    console.line()
    return 0
}
