import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `train` never loses a run and never overwrites its inputs (issue 12, item 7).
final class TrainOutputSafetyTests: XCTestCase {
    func train(_ args: [String], cwd: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool("train", args, cwd: cwd)
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// `--resume X` without `--out` writes X back (not runs/NAME.safetensors, which holds another run);
    /// with `--out Y` it writes Y and leaves X untouched. `train` and `train attack` refuse an output that
    /// is one of their data files, naming both, and the data survive.
    func testResumeWritesBackOrToOutAndNothingElse() throws {
        let cache = try TestData.tinyMNISTCache()
        let dir = temporaryDirectory()
        let x = dir + "/x.safetensors"
        let tiny = ["--data-dir", cache, "--quiet"]
        let first = try train(tiny + ["--width", "16", "--depth", "1", "--batch-size", "50", "--epochs", "1", "--out", x], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        // Another run, saved under the default name of this model.
        let other = dir + "/runs/\(try Checkpoint.read(path: x).model.summary).safetensors"
        try FileManager.default.createDirectory(atPath: dir + "/runs", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: other, contents: Data("another run".utf8)))

        // A fresh run of the same model without --out: it takes runs/NAME-2.safetensors, not the earlier run's file.
        let fresh = try train(tiny + ["--width", "16", "--depth", "1", "--batch-size", "50", "--epochs", "1"], cwd: dir)
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        let second = other.replacingOccurrences(of: ".safetensors", with: "-2.safetensors")
        XCTAssertEqual(try Checkpoint.read(path: second).progress.epochsCompleted, 1, fresh.stdout)
        XCTAssertEqual(bytes(other), Data("another run".utf8), "a fresh run leaves the earlier one alone")

        let resumed = try train(tiny + ["--resume", x, "--epochs", "2"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Checkpoint.read(path: x).progress.epochsCompleted, 2, "written back to the resumed checkpoint")
        XCTAssertEqual(bytes(other), Data("another run".utf8), "the other run is untouched")
        XCTAssertTrue(resumed.stdout.contains("saved \(x)"), resumed.stdout)

        let kept = try XCTUnwrap(bytes(x))
        let y = dir + "/y.safetensors"
        let toY = try train(tiny + ["--resume", x, "--epochs", "3", "--out", y], cwd: dir)
        XCTAssertEqual(toY.status, 0, toY.stderr)
        XCTAssertEqual(try Checkpoint.read(path: y).progress.epochsCompleted, 3)
        XCTAssertEqual(bytes(x), kept, "--out Y leaves X untouched")

        // Outputs onto the data set: an attack prefix whose labels file is the test labels, a checkpoint
        // written over the training labels (spelled through ..).
        let labels = cache + "/mnist/t10k-labels-idx1-ubyte", trainLabels = cache + "/mnist/train-labels-idx1-ubyte"
        let data = [bytes(labels), bytes(trainLabels)]
        let attack = try train(["attack", x, "--eps", "0.1", "--data-dir", cache, "--out", cache + "/mnist/t10k"], cwd: dir)
        XCTAssertEqual(attack.status, 1, attack.stdout)
        XCTAssertTrue(attack.stderr.contains("t10k-labels-idx1-ubyte") && attack.stderr.contains(labels), attack.stderr)
        let spelled = cache + "/mnist/../mnist/train-labels-idx1-ubyte"
        let fit = try train(tiny + ["--resume", x, "--epochs", "3", "--out", spelled], cwd: dir)
        XCTAssertEqual(fit.status, 1, fit.stdout)
        XCTAssertTrue(fit.stderr.contains(spelled) && fit.stderr.contains(trainLabels), fit.stderr)
        XCTAssertEqual([bytes(labels), bytes(trainLabels)], data, "the data set survives")

        // Resuming through a symlink writes the checkpoint it names, and the link stays a link.
        let link = dir + "/latest.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: x)
        let viaLink = try train(tiny + ["--resume", link, "--epochs", "3"], cwd: dir)
        XCTAssertEqual(viaLink.status, 0, viaLink.stderr)
        XCTAssertEqual(try Checkpoint.read(path: x).progress.epochsCompleted, 3)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), x)
    }
}
