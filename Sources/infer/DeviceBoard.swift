import Datasets

/// What the firmware build says about a board: its `firmware.txt` (key=value lines written last by
/// scripts/build-firmware.sh). Every key `infer --device` uses must be present and numeric where a
/// number is expected: a truncated or hand-edited file is refused with the key it lacks, never read as 0.
struct DeviceBoard {
    var name: String, target: String, cpu: String, optimization: String
    var flashBytes: Int, ramBytes: Int, payloadAddress: Int, payloadCapacity: Int, firmwareFlashBytes: Int
    /// The runtime's code (ModelFormat and Inference .text + .rodata from the linker map, scripts/build-firmware.sh).
    /// Absent from a firmware.txt written by an older build-firmware.sh (nil; such a firmware is stale anyway).
    var runtimeCodeBytes: Int?
    var dataBytes: Int, bssBytes: Int, arenaCapacity: Int, stackReserved: Int, heapReserved: Int
    /// Retired instructions per tick of the firmware's counter (1 on netduinoplus2's 1 GHz TIM2;
    /// 62.5 / 2^7 on the microbit's 16 MHz TIMER0 under -icount shift=7).
    var instructionsPerTick: Double
    /// QEMU's -icount shift: each retired instruction advances the virtual clock by 2^shift ns.
    var icountShift: Int
    /// The firmware's source hash (Firmware/sources.list gives the rule), or nil in a firmware.txt
    /// written before the hash existed.
    var sourceHash: String?
    /// SHA-256 of firmware.elf as built (ties this description to its elf), or nil likewise.
    var elfSHA256: String?

    /// The most bytes a firmware.txt may have (it has about 500).
    static let maxTextBytes = 64 * 1024

    /// Parses the `key=value` lines of `text` (from `path`, named in errors).
    init(text: String, path: String) throws(DeviceError) {
        var v: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { v[String(parts[0])] = String(parts[1]) }
        }
        func string(_ k: String) throws(DeviceError) -> String {
            guard let s = v[k], !s.isEmpty else { throw .firmwareText(path: path, key: k, value: nil) }
            return s
        }
        func int(_ k: String) throws(DeviceError) -> Int {
            let s = try string(k)
            guard let n = Int(s), n >= 0 else { throw .firmwareText(path: path, key: k, value: s) }
            return n
        }
        name = try string("board"); target = try string("target"); cpu = try string("cpu")
        optimization = try string("optimization")
        flashBytes = try int("flash_bytes"); ramBytes = try int("ram_bytes")
        payloadAddress = try int("payload_address"); payloadCapacity = try int("payload_capacity")
        firmwareFlashBytes = try int("firmware_flash_bytes"); runtimeCodeBytes = v["runtime_code_bytes"] == nil ? nil : try int("runtime_code_bytes"); dataBytes = try int("data_bytes"); bssBytes = try int("bss_bytes")
        arenaCapacity = try int("arena_capacity"); stackReserved = try int("stack_reserved"); heapReserved = try int("heap_reserved")
        icountShift = try int("icount_shift")
        let perTick = try string("instructions_per_tick")
        guard let ipt = Double(perTick), ipt > 0, ipt.isFinite else {
            throw .firmwareText(path: path, key: "instructions_per_tick", value: perTick)
        }
        instructionsPerTick = ipt
        sourceHash = v["source_hash"]
        elfSHA256 = v["elf_sha256"]
    }
}

/// What goes wrong finding or checking the firmware, with the paths and numbers; `infer` prints the
/// message and exits 1.
enum DeviceError: Error {
    /// No firmware directory: neither --firmware-dir, $BITSHIELD_FIRMWARE_DIR nor a package tree around this infer.
    case noFirmwareDirectory(board: String)
    /// No firmware.elf or firmware.txt in the board's directory.
    case missingFirmware(board: String, directory: String)
    /// A key of firmware.txt is missing (`value` nil) or not what it must be.
    case firmwareText(path: String, key: String, value: String?)
    /// The firmware was built from sources other than this tree's.
    case staleFirmware(board: String, directory: String, recorded: String?, tree: String, expected: String)
    /// firmware.elf is not the elf firmware.txt describes.
    case elfMismatch(path: String, actual: String, recorded: String?)
    /// A file of the tree or the firmware could not be read.
    case unreadable(String)

    var message: String {
        switch self {
        case let .noFirmwareDirectory(board):
            return "no firmware for \(board): this infer does not lie in a BitShield package's build folder "
                + "(PACKAGE/.build/TRIPLE/CONFIG/infer), so pass --firmware-dir DIR or set \(FirmwareLocation.environmentKey) "
                + "to a folder holding \(board)/firmware.elf and firmware.txt (make device builds them in PACKAGE/.build-firmware)"
        case let .missingFirmware(board, directory):
            return "no \(board) firmware in \(directory) (firmware.elf and firmware.txt): run `make device` "
                + "(or scripts/build-firmware.sh \(board)) to build it"
        case let .firmwareText(path, key, value):
            return "\(path): " + (value.map { "key '\(key)' has the value '\($0)'" } ?? "key '\(key)' is missing")
                + ": run `make device` to rebuild the firmware"
        case let .staleFirmware(board, directory, recorded, tree, expected):
            return "the \(board) firmware in \(directory) was built from other sources: its firmware.txt records source hash "
                + "\(recorded ?? "(none)"), the sources of \(tree) hash to \(expected) (Firmware/sources.list): "
                + "run `make device` to rebuild it"
        case let .elfMismatch(path, actual, recorded):
            return "\(path) has SHA-256 \(actual), its firmware.txt records \(recorded ?? "(none)"): "
                + "run `make device` to rebuild the firmware"
        case let .unreadable(reason):
            return reason
        }
    }
}
