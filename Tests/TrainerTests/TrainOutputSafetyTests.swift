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

        // Outputs onto the data set: an attack prefix whose files are the test set's, a checkpoint
        // written over the training labels (spelled through ..).
        let labels = cache + "/mnist/t10k-labels-idx1-ubyte", trainLabels = cache + "/mnist/train-labels-idx1-ubyte"
        let data = [bytes(labels), bytes(trainLabels)]
        let attack = try train(["attack", x, "--eps", "0.1", "--data-dir", cache, "--out", cache + "/mnist/t10k"], cwd: dir)
        XCTAssertEqual(attack.status, 1, attack.stdout)
        // Its first output, t10k-images-idx3-ubyte, is already an input: the raw spelling of the gzipped images.
        let images = cache + "/mnist/t10k-images-idx3-ubyte"
        XCTAssertTrue(attack.stderr.contains("output \(images) is the input \(images)"), attack.stderr)
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

    /// Red-team row 13: with the test images stored gzipped, `--out DATA/mnist/t10k-images-idx3-ubyte` (the
    /// raw name, which the loader prefers) was accepted and broke every later run. Both spellings of every
    /// file the loader reads are inputs now: exit 1 naming both, nothing written.
    func testAnOutputNamedAsTheRawSpellingOfAGzippedDataFileIsRefused() throws {
        let cache = try TestData.tinyMNISTCache()
        let dir = temporaryDirectory()
        let shadow = cache + "/mnist/t10k-images-idx3-ubyte"
        XCTAssertTrue(FileManager.default.fileExists(atPath: shadow + ".gz"))
        let fit = try train(["--data-dir", cache, "--quiet", "--width", "16", "--depth", "1", "--batch-size", "50", "--epochs", "1",
                             "--out", shadow], cwd: dir)
        XCTAssertEqual(fit.status, 1, fit.stdout)
        XCTAssertTrue(fit.stderr.contains("is the input") && fit.stderr.contains(shadow), fit.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shadow))
        XCTAssertNoThrow(try Dataset.mnist.load(.test, dataDirectory: cache))
        // CIFAR's batches count before they exist too (the user may unpack them later).
        XCTAssertTrue(Dataset.cifar10.files(dataDirectory: cache).contains(cache + "/cifar-10-batches-bin/test_batch.bin"))
    }

    /// Red-team row 11: two `train --resume cc` at once both saved cc, the first run silently lost. A run
    /// holds an flock on `.cc.safetensors.lock` for its life: while another process holds it, a second run
    /// on the same checkpoint (spelled another way, or as `--out`) exits 1 naming the lock and the holder's
    /// process id, and the checkpoint is untouched; once the holder is gone (killed), the run proceeds.
    func testASecondRunOnTheSameCheckpointIsRefusedWhileTheFirstHoldsItsLock() throws {
        let cache = try TestData.tinyMNISTCache()
        let dir = temporaryDirectory()
        let cc = dir + "/cc.safetensors"
        let tiny = ["--data-dir", cache, "--quiet", "--width", "16", "--depth", "1", "--batch-size", "50"]
        let first = try train(tiny + ["--epochs", "1", "--out", cc], cwd: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let lock = FileIdentity.canonicalPath(dir) + "/.cc.safetensors.lock"
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock), "the lock goes with the run")
        let kept = bytes(cc)

        // Another run (here a stand-in process) holds the lock, its pid written as a run writes it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "echo $$ > \"$0\" && exec 9<\"$0\" && flock -x 9 && exec sleep 600", lock]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        while !FileManager.default.fileExists(atPath: lock) { usleep(2000) }
        let probe = open(lock, O_RDONLY)
        while flock(probe, LOCK_EX | LOCK_NB) == 0 { flock(probe, LOCK_UN); usleep(2000) }
        close(probe)
        for args in [["--resume", cc, "--epochs", "2"], ["--resume", "./cc.safetensors", "--epochs", "3"], ["--epochs", "1", "--out", cc]] {
            let second = try train(tiny + args, cwd: dir)
            XCTAssertEqual(second.status, 1, "\(args): \(second.stdout)")
            XCTAssertTrue(second.stderr.contains(lock) && second.stderr.contains("process \(holder.processIdentifier)"), second.stderr)
        }
        XCTAssertEqual(bytes(cc), kept, "the checkpoint is untouched")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let after = try train(tiny + ["--resume", cc, "--epochs", "2"], cwd: dir)
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(try Checkpoint.read(path: cc).progress.epochsCompleted, 2)

        // Two real runs: while a long one trains, a second on the same checkpoint is refused naming it.
        let long = Process()
        long.executableURL = Bundle.main.bundleURL.appendingPathComponent("train")
        long.arguments = tiny + ["--resume", cc, "--epochs", "100000"]
        long.currentDirectoryURL = URL(fileURLWithPath: dir)
        long.standardOutput = FileHandle.nullDevice
        long.standardError = FileHandle.nullDevice
        try long.run()
        defer { if long.isRunning { kill(long.processIdentifier, SIGKILL) } }
        var held = false
        while long.isRunning && !held {
            let fd = open(lock, O_RDONLY)
            if fd >= 0 {
                held = flock(fd, LOCK_EX | LOCK_NB) != 0
                close(fd)
            }
            if !held { usleep(2000) }
        }
        XCTAssertTrue(held, "the run held no lock on \(lock)")
        let second = try train(tiny + ["--resume", cc, "--epochs", "3"], cwd: dir)
        XCTAssertEqual(second.status, 1, second.stdout)
        XCTAssertTrue(second.stderr.contains("another training run (process \(long.processIdentifier))"), second.stderr)
    }
}
