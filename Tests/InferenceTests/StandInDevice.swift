import Datasets
import Foundation
import ModelFile
import ToolSupport
import XCTest

/// A firmware folder and a stand-in qemu-system-arm (a shell script) for host-only tests of `infer
/// --device`: the firmware checks run on a described stand-in elf, and the stand-in prints what a test
/// needs. The golden FCN (8x8 input, 3 classes) is the model.
struct StandInDevice {
    let root: String, dir: String, bin: String, firmware: String, board: String
    let images: (String, String)
    let elfHash: String, treeHash: String

    /// `qemu` is the stand-in's shell body; `count` 8x8 images with labels below 3.
    init(root: String, qemu: String, images count: Int = 1) throws {
        self.root = root
        dir = temporaryDirectory()
        bin = dir + "/bin"; firmware = dir + "/firmware"; board = firmware + "/netduinoplus2"
        for d in [bin, board] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try Data("#!/bin/sh\n\(qemu)\n".utf8).write(to: URL(fileURLWithPath: bin + "/qemu-system-arm"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/qemu-system-arm")
        let pixels = (0..<(count * 64)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        try Data(IDXFile(dimensions: [count, 8, 8], bytes: pixels).encoded()).write(to: URL(fileURLWithPath: dir + "/images"))
        try Data(IDXFile(dimensions: [count], bytes: (0..<count).map { UInt8($0 % 3) }).encoded())
            .write(to: URL(fileURLWithPath: dir + "/labels"))
        images = (dir + "/images", dir + "/labels")
        let elf = Array("a stand-in elf".utf8)
        try Data(elf).write(to: URL(fileURLWithPath: board + "/firmware.elf"))
        elfHash = SHA256.hash(elf).map { String(format: "%02x", $0) }.joined()
        // This tree's source hash, by the build's side of the rule (scripts/firmware-source-hash.sh).
        let script = try runTool("/bin/bash", [root + "/scripts/firmware-source-hash.sh", "netduinoplus2"])
        XCTAssertEqual(script.status, 0, script.stderr)
        treeHash = script.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes firmware.txt with this tree's source hash and the elf's SHA-256 unless given, without the
    /// key `without`, and a payload area of `capacity` bytes.
    func describe(sourceHash: String? = nil, elf: String? = nil, without: String? = nil, capacity: Int = 786_432) throws {
        let lines = ["board=netduinoplus2", "target=armv7em-none-none-eabi", "cpu=cortex-m4", "optimization=-O",
                     "flash_bytes=1048576", "ram_bytes=131072", "payload_address=134479872", "payload_capacity=\(capacity)",
                     "firmware_flash_bytes=131072", "data_bytes=168", "bss_bytes=136", "arena_capacity=118480",
                     "stack_reserved=8192", "heap_reserved=4096", "instructions_per_tick=1", "icount_shift=0",
                     "source_hash=\(sourceHash ?? treeHash)", "elf_sha256=\(elf ?? elfHash)"]
        let kept = lines.filter { !$0.hasPrefix((without ?? "-") + "=") }
        try Data((kept.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: board + "/firmware.txt"))
    }

    /// `infer GOLDEN --device netduinoplus2` on the images, with only the stand-in on PATH.
    func infer(_ extra: [String], _ env: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool("infer", [root + "/spec/golden/v1-fcn-binary.bsm", "--device", "netduinoplus2", "--images", images.0,
                              "--labels", images.1] + extra, environment: ["PATH": bin].merging(env) { $1 })
    }
}
