import Datasets
import Dispatch
import Foundation
import Inference
import ModelFormat

// `infer --device BOARD`: runs the model on a simulated microcontroller. The firmware
// (Firmware/, scripts/build-firmware.sh) is one binary for every model; this file writes a payload
// (header + the bare model image + test images) that QEMU's generic loader places in the board's
// flash, runs qemu-system-arm with -icount (the virtual clock advances a fixed 2^shift ns per retired
// instruction: shift 0 on netduinoplus2, 7 on the microbit, whose 16 MHz timer then ticks 2.048
// times per instruction; so the counts are deterministic), parses what the firmware prints, and compares every prediction
// with the host runtime's.

/// What the firmware build says about a board (its `firmware.txt`, written by build-firmware.sh).
struct DeviceBoard {
    var name = "", target = "", cpu = "", optimization = ""
    var flashBytes = 0, ramBytes = 0, payloadAddress = 0, payloadCapacity = 0, firmwareFlashBytes = 0
    var dataBytes = 0, bssBytes = 0, arenaCapacity = 0, stackReserved = 0, heapReserved = 0
    /// Retired instructions per tick of the firmware's counter (1 on netduinoplus2's 1 GHz TIM2;
    /// 62.5 / 2^7 on the microbit's 16 MHz TIMER0 under -icount shift=7).
    var instructionsPerTick = 1.0
    /// QEMU's -icount shift: each retired instruction advances the virtual clock by 2^shift ns.
    var icountShift = 0

    /// Parses `key=value` lines.
    init(text: String) {
        var v: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { v[String(parts[0])] = String(parts[1]) }
        }
        func int(_ k: String) -> Int { Int(v[k] ?? "") ?? 0 }
        name = v["board"] ?? ""; target = v["target"] ?? ""; cpu = v["cpu"] ?? ""; optimization = v["optimization"] ?? ""
        flashBytes = int("flash_bytes"); ramBytes = int("ram_bytes")
        payloadAddress = int("payload_address"); payloadCapacity = int("payload_capacity")
        firmwareFlashBytes = int("firmware_flash_bytes"); dataBytes = int("data_bytes"); bssBytes = int("bss_bytes")
        arenaCapacity = int("arena_capacity"); stackReserved = int("stack_reserved"); heapReserved = int("heap_reserved")
        instructionsPerTick = Double(v["instructions_per_tick"] ?? "") ?? 1
        icountShift = int("icount_shift")
    }
}

/// What one firmware run printed.
struct DeviceRun {
    var predictions: [Int] = []
    var ticksTotal = 0, ticksMin = Int.max, ticksMax = 0
    /// Counter ticks of Interpreter.init on the device (validation, arena plan, persistent data).
    var initTicks = 0
    var arenaBytes = 0, stackHighWater = 0, heapBytes = 0, dataBytes = 0, bssBytes = 0, firmwareFlashBytes = 0
    var done = false

    /// Parses the firmware's output (see Firmware/Sources/Main.swift).
    init(output: String, classes: Int) {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let head = words.first else { continue }
            func field(_ key: String) -> Int {
                for w in words.dropFirst() where w.hasPrefix(key + "=") { return Int(w.dropFirst(key.count + 1)) ?? 0 }
                return 0
            }
            switch head {
            case "p" where words.count == 3:
                if classes <= alphabet.count {
                    predictions += words[2].map { c in alphabet.firstIndex(of: c) ?? -1 }
                } else {
                    predictions += words[2].split(separator: ",").map { Int($0) ?? -1 }
                }
            case "model": arenaBytes = field("arena_bytes"); initTicks = field("init_instructions")
            case "instructions":
                ticksTotal = field("total"); ticksMin = field("min"); ticksMax = field("max")
            case "memory":
                stackHighWater = field("stack_high_water"); heapBytes = field("heap")
                dataBytes = field("data"); bssBytes = field("bss"); firmwareFlashBytes = field("flash_firmware")
            case "done": done = true
            default: break
            }
        }
    }
}

extension InferTool {
    /// The repository root (holds scripts/build-firmware.sh): searched up from the working directory
    /// and from this executable's directory.
    func repositoryRoot() -> String? {
        let fm = FileManager.default
        var starts = [fm.currentDirectoryPath]
        if let beside = RunningExecutable.directory { starts.append(beside) }
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                if fm.fileExists(atPath: dir.appendingPathComponent("scripts/build-firmware.sh").path)
                    && fm.fileExists(atPath: dir.appendingPathComponent("Firmware").path) { return dir.path }
                let up = dir.deletingLastPathComponent()
                if up.path == dir.path { break }
                dir = up
            }
        }
        return nil
    }

    /// The newest modification time of the files under `paths`.
    func newest(_ paths: [String]) -> Date {
        var latest = Date.distantPast
        let fm = FileManager.default
        for path in paths {
            guard let e = fm.enumerator(atPath: path) else { continue }
            while let f = e.nextObject() as? String {
                if let d = (try? fm.attributesOfItem(atPath: path + "/" + f))?[.modificationDate] as? Date, d > latest { latest = d }
            }
        }
        return latest
    }

    /// The firmware of `board` and its description: `--firmware-dir`, else the repository's
    /// .build-firmware, (re)built with scripts/build-firmware.sh when missing or older than its sources.
    func locateFirmware(board: String) throws -> (elf: String, board: DeviceBoard) {
        let fm = FileManager.default
        let root = repositoryRoot()
        let dir: String
        if let firmwareDir { dir = firmwareDir + "/" + board }
        else if let root { dir = root + "/.build-firmware/" + board }
        else { throw fail("no firmware for \(board): pass --firmware-dir, or run infer inside the BitShield repository (make device builds it)") }
        let elf = dir + "/firmware.elf", info = dir + "/firmware.txt"
        if let root, firmwareDir == nil {
            let built = (try? fm.attributesOfItem(atPath: info))?[.modificationDate] as? Date ?? .distantPast
            let sources = newest(["Firmware", "Sources/Inference", "Sources/ModelFormat", "scripts/build-firmware.sh"].map { root + "/" + $0 })
            if built < sources {
                FileHandle.standardError.write(Data("infer: building the \(board) firmware (scripts/build-firmware.sh)\n".utf8))
                let p = Process()
                p.executableURL = URL(fileURLWithPath: root + "/scripts/build-firmware.sh")
                p.arguments = [board]
                p.standardOutput = FileHandle.standardError
                try p.run()
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw fail("building the \(board) firmware failed (scripts/build-firmware.sh \(board) exited \(p.terminationStatus))") }
            }
        }
        guard fm.fileExists(atPath: elf), let text = fm.contents(atPath: info) else {
            throw fail("no firmware at \(elf): build it with scripts/build-firmware.sh \(board) (or make device)")
        }
        return (elf, DeviceBoard(text: String(decoding: text, as: UTF8.self)))
    }

    /// qemu-system-arm on PATH.
    func locateQEMU() throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = String(dir) + "/qemu-system-arm"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw fail("qemu-system-arm not found on PATH: run `make device` (installs it with apt-get and builds the firmware)")
    }

    /// The payload: 64-byte header, the model image at 64, the images after it (64-aligned).
    static func payload(image: [UInt8], pixels: ArraySlice<UInt8>, count: Int, imageBytes: Int) -> [UInt8] {
        let imagesOffset = (64 + image.count + 63) / 64 * 64
        var header = [UInt8](repeating: 0, count: 64)
        header[0...3] = [0x42, 0x53, 0x44, 0x56]   // "BSDV"
        for (i, v) in [1, 64, 64, image.count, imagesOffset, count, imageBytes, 0].enumerated() {
            for b in 0..<4 { header[4 + 4 * i + b] = UInt8(truncatingIfNeeded: v >> (8 * b)) }
        }
        var out = header + image
        out += [UInt8](repeating: 0, count: imagesOffset - out.count)
        out += pixels
        return out
    }

    /// Runs the model on `board` under QEMU over `data`, compares with the host runtime and reports.
    func runOnDevice(board name: String, file: [UInt8], image bytes: [UInt8], data: ImageSet, source: String) throws {
        let qemu = try locateQEMU()
        let (elf, board) = try locateFirmware(board: name)
        let imageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        defer { imageBuffer.deallocate() }
        bytes.withUnsafeBytes { imageBuffer.copyMemory(from: $0) }
        let image = try openImage(UnsafeRawBufferPointer(imageBuffer))
        let classes = Int(image.header.classes)

        // Does it fit? Flash: firmware + model image; RAM: the arena beside .data, .bss, heap and stack.
        let flashLeft = board.flashBytes - board.firmwareFlashBytes
        guard bytes.count <= flashLeft, 64 + bytes.count + data.imageSize <= board.payloadCapacity else {
            throw fail("the model image (\(bytes.count) B) does not fit the \(name)'s flash: \(board.flashBytes) B minus the firmware's "
                       + "\(board.firmwareFlashBytes) B leaves \(flashLeft) B, and the payload area (with one \(data.imageSize) B test image) "
                       + "holds \(board.payloadCapacity) B")
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

        // Device runs, as many images per run as the payload area holds.
        let perRun = (board.payloadCapacity - (64 + bytes.count + 63) / 64 * 64) / data.imageSize
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
            let blob = InferTool.payload(image: bytes, pixels: data.pixels[(start * data.imageSize)..<((start + n) * data.imageSize)],
                                         count: n, imageBytes: data.imageSize)
            guard FileManager.default.createFile(atPath: payloadPath, contents: Data(blob)) else { throw fail("cannot write \(payloadPath)") }
            let (status, output, errors) = try runQEMU(qemu, board: name, elf: elf, payload: payloadPath,
                                                       address: board.payloadAddress, icountShift: board.icountShift,
                                                       seconds: 60 + n / 20)
            let run = DeviceRun(output: output, classes: classes)
            guard status == 0, run.done, run.predictions.count == n else {
                let firmwareError = output.split(separator: "\n").first { $0.hasPrefix("error") || $0.hasPrefix("fatal") }
                throw fail("the \(name) firmware failed on images \(start)..<\(start + n) (qemu exit \(status), "
                           + "\(run.predictions.count) of \(n) predictions): "
                           + (firmwareError.map(String.init) ?? errors.trimmingCharacters(in: .whitespacesAndNewlines)))
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
        print("flash \(flash) B = firmware \(board.firmwareFlashBytes) + model image \(bytes.count) (board: \(board.flashBytes))")
        print("RAM \(ram) B = .data \(last.dataBytes) + .bss \(last.bssBytes) + arena \(last.arenaBytes) + stack high-water "
              + "\(last.stackHighWater) + heap \(last.heapBytes) (board: \(board.ramBytes); the model image and test images stay in flash)")
        if json {
            let object: [String: Any] = [
                "accuracy": accuracy, "correct": correct, "images": data.count, "host_agreement": agreement, "agreeing": agreeing,
                "instructions_per_inference": instructions, "instructions_min": leastInstructions,
                "instructions_max": mostInstructions, "init_instructions": initInstructions, "instructions_total": Int((Double(ticks) * perTick).rounded()),
                "flash_bytes": flash, "firmware_flash_bytes": board.firmwareFlashBytes, "image_bytes": bytes.count,
                "ram_bytes": ram, "data_bytes": last.dataBytes, "bss_bytes": last.bssBytes, "arena_bytes": last.arenaBytes,
                "stack_high_water_bytes": last.stackHighWater, "heap_bytes": last.heapBytes,
                "board": name, "cpu": board.cpu, "firmware_optimization": board.optimization, "qemu_runs": runs,
                "file_bytes": file.count, "model": model, "source": source,
            ]
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
                 seconds: Int) throws
        -> (Int32, String, String) {
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
        // Read stderr on another thread so neither pipe can fill and stall QEMU.
        nonisolated(unsafe) var errors = Data()
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async { errors = errHandle.readDataToEndOfFile(); done.signal() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        done.wait()
        let status = p.terminationStatus == 124 ? Int32(124) : p.terminationStatus
        if status == 124 { return (status, String(decoding: o, as: UTF8.self), "QEMU timed out after \(seconds) s") }
        return (status, String(decoding: o, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}
