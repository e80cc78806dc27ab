import Datasets
import DevicePayload
import Dispatch
import Foundation
import Inference
import ModelFormat

// `infer --device BOARD`: runs the model on a simulated microcontroller. The firmware
// (Firmware/, built by `make device`; found and checked by Device+Firmware.swift) is one binary for
// every model; this file writes a payload (Sources/DevicePayload: header + the bare model image + test
// images) that QEMU's generic loader places in the board's flash, runs qemu-system-arm with -icount (the virtual clock advances a fixed 2^shift ns per retired
// instruction: shift 0 on netduinoplus2, 7 on the microbit, whose 16 MHz timer then ticks 2.048
// times per instruction; so the counts are deterministic), parses what the firmware prints, and compares every prediction
// with the host runtime's.

extension InferTool {
    /// qemu-system-arm on PATH.
    func locateQEMU() throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = String(dir) + "/qemu-system-arm"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw fail("qemu-system-arm not found on PATH: run `make device` (installs it with apt-get and builds the firmware)")
    }

    /// Runs the model on `board` under QEMU over `data`, compares with the host runtime and reports.
    /// With `minimal`, the BOARD-minimal firmware (issue 14 item 5), which runs binary dense layers on
    /// columns32 weights only: any other model is refused first, naming the convert command.
    func runOnDevice(board name: String, minimal: Bool, file: [UInt8], image bytes: [UInt8], data: ImageSet, source: String) throws {
        let qemu = try locateQEMU()
        let elf: String, board: DeviceBoard
        do { (elf, board) = try locateFirmware(board: minimal ? name + "-minimal" : name) } catch { throw fail(error.message) }
        let imageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        defer { imageBuffer.deallocate() }
        bytes.withUnsafeBytes { imageBuffer.copyMemory(from: $0) }
        let image = try openImage(UnsafeRawBufferPointer(imageBuffer))
        if minimal, let refusal = MinimalRuntime.refusal(image) { throw fail("\(model): \(refusal)") }
        let classes = Int(image.header.classes)

        // Does it fit? Flash: firmware + model image, in the payload area with at least one test image.
        let flashLeft = board.flashBytes - board.firmwareFlashBytes
        let perRun: Int
        do throws(DevicePayloadError) {
            guard bytes.count <= flashLeft else { throw DevicePayloadError.pastEnd(what: "model image", end: UInt64(bytes.count), limit: UInt64(max(flashLeft, 0))) }
            perRun = try DevicePayload.imagesPerPayload(modelBytes: bytes.count, imageBytes: data.imageSize, capacity: board.payloadCapacity)
        } catch {
            throw fail("the model image (\(bytes.count) B) does not fit the \(name)'s flash: \(board.flashBytes) B minus the firmware's "
                       + "\(board.firmwareFlashBytes) B leaves \(flashLeft) B, and the payload area (with one \(data.imageSize) B test image) "
                       + "holds \(board.payloadCapacity) B (\(error.message))")
        }
        // The boards are 32-bit: the firmware runs the carry-save kernels, whose arena this plans.
        let arenaNeeded = Interpreter.arenaBytes(for: image, kernels: .carrySave)
        guard arenaNeeded <= board.arenaCapacity else {
            throw fail("the model needs a \(arenaNeeded) B arena; the \(name) has \(board.arenaCapacity) B of RAM for it "
                       + "(\(board.ramBytes) B minus .data \(board.dataBytes), .bss \(board.bssBytes), stack \(board.stackReserved), "
                       + "heap \(board.heapReserved))")
        }

        // The host's predictions.
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(arenaNeeded, 16), alignment: 16)
        defer { arena.deallocate() }
        let interpreter = try makeInterpreter(UnsafeRawBufferPointer(imageBuffer), arena, .optimized)   // the host's own kernels: an independent check
        let host = data.pixels.withUnsafeBufferPointer { px in
            (0..<data.count).map { interpreter.invoke(px.baseAddress! + $0 * data.imageSize) }
        }

        // Device runs, as many images per run as the payload area holds (perRun).
        // Payloads go to a locked scratch directory: one a killed run left behind is removed by the next run.
        let scratch: ScratchDirectory
        do { scratch = try ScratchDirectory(parent: FileManager.default.temporaryDirectory.path, base: "bitshield-device") } catch {
            throw fail(error.description)
        }
        defer { scratch.remove() }
        let temp = URL(fileURLWithPath: scratch.path)
        var device: [Int] = []
        var ticks = 0, least = Int.max, most = 0, runs = 0
        var last = DeviceRun(output: "", classes: classes)
        var start = 0
        repeat {
            let n = min(perRun, data.count - start)
            let payloadPath = temp.appendingPathComponent("payload-\(runs).bin").path
            let blob: [UInt8]
            do {
                blob = try DevicePayload.encode(model: bytes, pixels: data.pixels[(start * data.imageSize)..<((start + n) * data.imageSize)],
                                                imageCount: n, imageBytes: data.imageSize, capacity: board.payloadCapacity)
            } catch { throw fail(error.message) }
            guard FileManager.default.createFile(atPath: payloadPath, contents: Data(blob)) else { throw fail("cannot write \(payloadPath)") }
            let (status, output, errors) = try runQEMU(qemu, board: name, elf: elf, payload: payloadPath,
                                                       address: board.payloadAddress, icountShift: board.icountShift,
                                                       images: n, seconds: 60 + n / 20)
            let run = DeviceRun(output: output, classes: classes)
            guard status == 0, run.done, run.predictions.count == n, run.malformed == nil else {
                let firmwareError = output.split(separator: "\n").first { $0.hasPrefix("error") || $0.hasPrefix("fatal") }.map(String.init)
                    ?? run.malformed.map { "a figure outside 0...\(DeviceRun.largestFigure) in '\($0.prefix(200))'" }
                throw fail("the \(name) firmware failed on images \(start)..<\(start + n) (qemu exit \(status), "
                           + "\(run.predictions.count) of \(n) predictions): "
                           + (firmwareError ?? errors.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            device += run.predictions
            ticks += run.ticksTotal
            if n > 0 { least = min(least, run.ticksMin); most = max(most, run.ticksMax) }
            if runs == 0 || run.stackHighWater > last.stackHighWater || run.heapBytes > last.heapBytes { last = run }
            runs += 1
            start += n
        } while start < data.count

        // Figures.
        var correct = 0, agreeing = 0
        for i in 0..<data.count {
            if device[i] == Int(data.labels[i]) { correct += 1 }
            if device[i] == host[i] { agreeing += 1 }
        }
        let count = max(data.count, 1)
        let accuracy = Double(correct) / Double(count), agreement = Double(agreeing) / Double(count)
        let perTick = board.instructionsPerTick
        let instructions = Int((Double(ticks) * perTick / Double(count)).rounded())
        let flash = board.firmwareFlashBytes + bytes.count
        let ram = last.dataBytes + last.bssBytes + last.arenaBytes + last.stackHighWater + last.heapBytes

        print("\(model) on \(source): \(data.count) images on \(name) (QEMU, \(board.cpu), \(board.target), firmware \(board.optimization), \(runs) run(s))")
        print(String(format: "accuracy %.4f (%d/%d)", accuracy, correct, data.count))
        print(String(format: "host agreement %.4f (%d/%d predictions equal the host runtime's)", agreement, agreeing, data.count))
        let leastInstructions = Int((Double(least == .max ? 0 : least) * perTick).rounded())
        let mostInstructions = Int((Double(most) * perTick).rounded())
        print("instructions per inference \(instructions) (mean; min \(leastInstructions), max \(mostInstructions); "
              + "qemu -icount shift=\(board.icountShift)\(perTick == 1 ? "" : ", counter tick = \(perTick) instructions"))")
        let initInstructions = Int((Double(last.initTicks) * perTick).rounded())
        print("init (validate the image, plan the arena) \(initInstructions) instructions")
        if let code = board.runtimeCodeBytes {
            print("runtime code \(code) B (ModelFormat and Inference .text + .rodata after --gc-sections; \(minimal ? "minimal" : "full") runtime)")
        }
        print("flash \(flash) B = firmware \(board.firmwareFlashBytes) + model image \(bytes.count) (board: \(board.flashBytes))")
        print("RAM \(ram) B = .data \(last.dataBytes) + .bss \(last.bssBytes) + arena \(last.arenaBytes) + stack high-water "
              + "\(last.stackHighWater) + heap \(last.heapBytes) (board: \(board.ramBytes); the model image and test images stay in flash)")
        if json {
            var object: [String: Any] = [
                "accuracy": accuracy, "correct": correct, "images": data.count, "host_agreement": agreement, "agreeing": agreeing,
                "instructions_per_inference": instructions, "instructions_min": leastInstructions,
                "instructions_max": mostInstructions, "init_instructions": initInstructions, "instructions_total": Int((Double(ticks) * perTick).rounded()),
                "minimal": minimal,
                "flash_bytes": flash, "firmware_flash_bytes": board.firmwareFlashBytes, "image_bytes": bytes.count,
                "ram_bytes": ram, "data_bytes": last.dataBytes, "bss_bytes": last.bssBytes, "arena_bytes": last.arenaBytes,
                "stack_high_water_bytes": last.stackHighWater, "heap_bytes": last.heapBytes,
                "board": name, "cpu": board.cpu, "firmware_optimization": board.optimization, "qemu_runs": runs,
                "file_bytes": file.count, "model": model, "source": source,
            ]
            if let code = board.runtimeCodeBytes { object["code_bytes"] = code }
            let d = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: d, as: UTF8.self))
        }
        // bits8 dense weights run the row kernels on the device; columns32 is its layout.
        if (0..<image.tensorCount).contains(where: { image.isBlocked($0) }) {
            FileHandle.standardError.write(Data(("note: \(model) stores its dense weights as bits8 (the 64-bit hosts' layout); on a "
                + "microcontroller the columns32 layout needs fewer instructions: convert CHECKPOINT -o FILE --layout columns32\n").utf8))
        }
        guard agreeing == data.count else {
            let first = (0..<data.count).first { device[$0] != host[$0] }!
            throw fail("\(data.count - agreeing) of \(data.count) device predictions differ from the host runtime's "
                       + "(first: image \(first), device \(device[first]), host \(host[first]))")
        }
    }

    /// Runs the firmware once under QEMU (killed after `seconds`); returns exit status, stdout, stderr.
    func runQEMU(_ qemu: String, board: String, elf: String, payload: String, address: Int, icountShift: Int = 0,
                 images: Int, seconds: Int) throws
        -> (Int32, String, String) {
        let limit = InferTool.outputLimit(images: images)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["--kill-after=5", "\(seconds)", qemu, "-M", board, "-nographic", "-monitor", "none", "-serial", "none",
                       "-semihosting-config", "enable=on,target=native", "-icount", "shift=\(icountShift)",
                       "-kernel", elf, "-device", "loader,file=\(payload),addr=\(address)"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read stderr on another thread so neither pipe can fill and stall QEMU; keep at most
        // outputLimit bytes of each, and stop QEMU when it prints more (a firmware gone wrong).
        nonisolated(unsafe) var errors = Data(), errorsOver = false
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            (errors, errorsOver) = InferTool.readBounded(errHandle, limit: limit) { p.terminate() }
            done.signal()
        }
        let (o, outOver) = InferTool.readBounded(out.fileHandleForReading, limit: limit) { p.terminate() }
        p.waitUntilExit()
        done.wait()
        if outOver || errorsOver {
            return (1, "", "QEMU printed more than \(limit) bytes to \(outOver ? "stdout" : "stderr") and was stopped")
        }
        let status = p.terminationStatus == 124 ? Int32(124) : p.terminationStatus
        if status == 124 { return (status, String(decoding: o, as: UTF8.self), "QEMU timed out after \(seconds) s") }
        return (status, String(decoding: o, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// The most bytes of QEMU's stdout or stderr a run of `images` images may print: the firmware prints
    /// a few fixed lines and at most about 7 bytes per image (a class of up to five digits, a comma, and
    /// a line head per 16 images).
    static func outputLimit(images: Int) -> Int { 65_536 + 8 * images }

    /// Reads `handle` to its end, keeping at most `limit` bytes; calls `over` once when more arrive
    /// (and keeps draining, so the writer never blocks) and returns true with the bytes kept.
    static func readBounded(_ handle: FileHandle, limit: Int, over: () -> Void) -> (Data, Bool) {
        var data = Data(), exceeded = false
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return (data, exceeded) }
            if exceeded { continue }
            if data.count + chunk.count > limit {
                exceeded = true
                over()
            } else {
                data.append(chunk)
            }
        }
    }
}
