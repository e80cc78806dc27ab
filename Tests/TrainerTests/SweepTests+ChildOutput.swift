import CAllocationCounter
import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// The sweep reads `verify`'s and `infer`'s output and `infer`'s predictions file: a child that prints or
/// writes without end costs bounded memory, and what it wrote past its bound is a note, not a figure.
extension SweepTests {
    /// A temporary directory holding a tiny checkpoint, a one-byte `tiny.bsm` beside it (so the sweep runs its
    /// children on it), and an executable shell script `name` with `script` as its body, standing in for
    /// `verify` or `infer`.
    func fakeChild(name: String, script: String) throws -> (dir: String, model: String, executable: String) {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/tiny.bsm", contents: Data([0])))
        let fake = dir + "/" + name
        try ("#!/bin/sh\n" + script + "\n").write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        return (dir, model, fake)
    }

    /// A verify that prints 64 MiB before its JSON line: the sweep kept all of it (and a decoded copy).
    /// Now only the last 64 KiB are kept: the figure is still read, the peak stays far below the output.
    func testChattyVerifyCostsBoundedMemory() throws {
        let (dir, model, fake) = try fakeChild(name: "chatty-verify", script: """
        head -c 67108864 /dev/zero | tr '\\000' x
        echo
        echo '{"images": 20, "eps": 0.1, "robust": 3, "counterexample": 17, "unknown": 0}'
        """)
        var settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/c", dataDirectory: dir, testSet: try TestData.mnist(.test).prefix(20))
        settings.verifyExecutable = fake
        settings.certify = true
        bitshield_allocations_start()
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        _ = bitshield_allocations_stop()
        XCTAssertEqual(cell.certifiedRobust, 3, cell.certifiedNote ?? "")
        XCTAssertLessThan(bitshield_allocations_peak_bytes(), 32 << 20, "the sweep kept verify's whole output")
    }

    /// An infer that writes 8 MiB of predictions for 20 images: the file was read whole. Now it is read up
    /// to what 20 predictions can take, and the note says so.
    func testHugePredictionsFileIsANote() throws {
        let (dir, model, fake) = try fakeChild(name: "fake-infer", script: """
        while [ $# -gt 0 ]; do
          case "$1" in --predictions) predictions="$2"; shift ;; esac
          shift
        done
        head -c 8388608 /dev/zero | tr '\\000' 7 > "$predictions"
        echo '{"accuracy": 0.5, "images": 20}'
        """)
        let settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/r", dataDirectory: dir, testSet: try TestData.mnist(.test).prefix(20), inferExecutable: fake)
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        XCTAssertEqual(cell.runtimeAccuracy, 0.5)
        XCTAssertTrue(cell.runtimeNote?.contains("8388608 bytes, above the 4576 a predictions file may have") ?? false, cell.runtimeNote ?? "no note")
    }
}

extension SweepTests {
    /// A verify that never exits hung the sweep for ever. Now it is killed once it runs past twice the
    /// images' time limits plus a grace, and the figure is n/a saying so.
    func testHangingVerifyIsStopped() throws {
        let (dir, model, fake) = try fakeChild(name: "hanging-verify", script: "trap '' TERM\nexec sleep 100000")
        var settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/h", dataDirectory: dir, testSet: try TestData.mnist(.test).prefix(4))
        settings.verifyExecutable = fake
        settings.certify = true
        settings.verifyTimeout = 0.05
        settings.verifyGrace = 0.5
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        XCTAssertNil(cell.certifiedRobust)
        XCTAssertTrue(cell.certifiedNote?.contains("verify still ran after 0.9 s") ?? false, cell.certifiedNote ?? "no note")
    }

    /// An infer that never exits hung the sweep's runtime cross-check for ever. Now it is killed once it runs
    /// past its per-image allowance plus the grace, and the cell's runtime note says so (the attack stands).
    func testHangingInferIsStopped() throws {
        let (dir, model, fake) = try fakeChild(name: "hanging-infer", script: "trap '' TERM\nexec sleep 100000")
        var settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/h", dataDirectory: dir, testSet: try TestData.mnist(.test).prefix(4), inferExecutable: fake)
        settings.inferSecondsPerImage = 0.1
        settings.verifyGrace = 0.5
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        XCTAssertNil(cell.runtimeAccuracy)
        XCTAssertTrue(cell.runtimeNote?.contains("infer still ran after 0.9 s") ?? false, cell.runtimeNote ?? "no note")
    }
}
