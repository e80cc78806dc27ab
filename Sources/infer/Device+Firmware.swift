import Datasets
import Foundation
import ModelFile

/// Where `infer --device` finds the firmware; the rule, stated once (docs/EMBEDDING.md repeats it):
///
/// 1. `--firmware-dir DIR`, else
/// 2. `$BITSHIELD_FIRMWARE_DIR`, else
/// 3. `PACKAGE/.build-firmware`, where PACKAGE is the package this `infer` was built in: SwiftPM puts the
///    executable at `PACKAGE/BUILD/TRIPLE/CONFIG/infer` (`.build/x86_64-unknown-linux-gnu/debug/infer`;
///    `.build/debug` is a link to it), so PACKAGE is four folders above the resolved executable, accepted
///    when it holds Package.swift and Firmware/sources.list.
///
/// The firmware for BOARD is `DIR/BOARD/firmware.elf`, described by `DIR/BOARD/firmware.txt`; `make
/// device` builds it. Nothing is searched upward from the working directory and `infer` never builds
/// the firmware. When PACKAGE exists, the firmware's source hash must equal PACKAGE's (whichever DIR
/// was used); an installed `infer` (no PACKAGE) cannot check it and says so on stderr.
enum FirmwareLocation {
    /// The environment variable of rule 2.
    static let environmentKey = "BITSHIELD_FIRMWARE_DIR"

    /// The package this executable was built in (rule 3), or nil for an executable elsewhere.
    static func package(executable: String?) -> String? {
        guard var dir = executable else { return nil }
        for _ in 0..<4 { dir = PathText.directory(of: dir) }
        let fm = FileManager.default
        guard !dir.isEmpty, fm.fileExists(atPath: dir + "/Package.swift"), fm.fileExists(atPath: dir + "/" + FirmwareSources.listPath)
        else { return nil }
        return dir
    }

    /// The firmware root by rules 1-3, or nil when none applies.
    static func root(option: String?, environment: [String: String], package: String?) -> String? {
        if let option { return option }
        if let env = environment[environmentKey], !env.isEmpty { return env }
        return package.map { $0 + "/.build-firmware" }
    }
}

extension InferTool {
    /// The firmware of `board` and its description, found by FirmwareLocation's rule and checked:
    /// firmware.txt complete, firmware.elf the elf it describes, built from this package's sources.
    func locateFirmware(board name: String) throws(DeviceError) -> (elf: String, board: DeviceBoard) {
        let package = FirmwareLocation.package(executable: RunningExecutable.path)
        guard let root = FirmwareLocation.root(option: firmwareDir, environment: ProcessInfo.processInfo.environment, package: package)
        else { throw .noFirmwareDirectory(board: name) }
        let dir = root + "/" + name
        let elfPath = dir + "/firmware.elf", textPath = dir + "/firmware.txt"
        let fm = FileManager.default
        guard fm.fileExists(atPath: elfPath), fm.fileExists(atPath: textPath) else { throw .missingFirmware(board: name, directory: dir) }
        let text: [UInt8], elf: [UInt8]
        do {
            text = try BoundedFile.contents(of: textPath, limit: DeviceBoard.maxTextBytes, what: "firmware description")
            elf = try BoundedFile.contents(of: elfPath, limit: 64 << 20, what: "firmware elf")
        } catch { throw .unreadable(error.description) }
        let board = try DeviceBoard(text: String(decoding: text, as: UTF8.self), path: textPath)
        guard board.name == name else { throw .firmwareText(path: textPath, key: "board", value: board.name) }
        let elfHash = FirmwareSources.hex(SHA256.hash(elf))
        guard board.elfSHA256 == elfHash else { throw .elfMismatch(path: elfPath, actual: elfHash, recorded: board.elfSHA256) }
        if let package {
            let expected = try FirmwareSources.hash(root: package, board: name)
            guard board.sourceHash == expected else {
                throw .staleFirmware(board: name, directory: dir, recorded: board.sourceHash, tree: package, expected: expected)
            }
        } else {
            FileHandle.standardError.write(Data(("note: this infer was not built in a BitShield package, so the \(name) firmware's "
                + "source hash (\(board.sourceHash ?? "none")) is not checked against any sources\n").utf8))
        }
        return (elfPath, board)
    }
}
