import Foundation
import XCTest
@testable import Datasets

/// `AtomicFile` (stale temporaries, locks, validation before rename) and `FileIdentity` (issue 12, items 7, 11, 12).
final class AtomicFileTests: XCTestCase {
    func scratch() -> String {
        let path = NSTemporaryDirectory() + "bitshield-atomic-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A child process holding an flock on `path` (flock(1) on an inherited descriptor, then exec, so one
    /// process holds it and killing it releases it); returns once the lock is held.
    func lockHolder(_ path: String) throws -> Process {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9<\"$0\" && flock -x 9 && exec sleep 600", path]
        try holder.run()
        // Wait until taking the lock ourselves fails, without timing assumptions.
        let probe = open(path, O_RDONLY)
        defer { close(probe) }
        while flock(probe, LOCK_EX | LOCK_NB) == 0 { flock(probe, LOCK_UN); usleep(2000) }
        return holder
    }

    func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// Item 12: a writer killed mid-write (SIGKILL) leaves `.NAME.tmp-PID`; the next write of the same
    /// target removes it once the kernel has released the dead writer's lock, and leaves a temporary that a
    /// live writer holds, and the temporaries of other targets, alone.
    func testStaleTemporariesOfDeadWritersAreRemovedLiveOnesKept() throws {
        let dir = scratch()
        let big = [UInt8](repeating: 7, count: 1 << 16)
        // A temporary left without a lock (its writer died before this scheme, or the lock went with it).
        let orphan = dir + "/.m.bin.tmp-4242"
        XCTAssertTrue(FileManager.default.createFile(atPath: orphan, contents: Data(big)))
        // A temporary whose writer is alive and holds its flock (a child process of ours).
        let held = dir + "/.m.bin.tmp-4243"
        XCTAssertTrue(FileManager.default.createFile(atPath: held, contents: Data(big)))
        let holder = try lockHolder(held)
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        // Another target's temporary is not ours to remove.
        let other = dir + "/.other.bin.tmp-4244"
        XCTAssertTrue(FileManager.default.createFile(atPath: other, contents: Data(big)))

        try AtomicFile.write([1, 2, 3], to: dir + "/m.bin")
        XCTAssertEqual(entries(dir), [".m.bin.tmp-4243", ".other.bin.tmp-4244", "m.bin"], "the orphan is removed, the held one kept")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/m.bin"), Data([1, 2, 3]))

        // The writer is killed: the kernel releases its lock, and the next write cleans up after it.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        XCTAssertEqual(holder.terminationReason, .uncaughtSignal)
        try AtomicFile.write([4, 5], to: dir + "/m.bin")
        XCTAssertEqual(entries(dir), [".other.bin.tmp-4244", "m.bin"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/m.bin"), Data([4, 5]))
    }

    /// Item 12 for directories (`infer --device` payloads): a scratch directory whose owner was killed is
    /// removed when the next one is made; one whose owner lives, and other bases, are left alone; the
    /// owner's own removal leaves nothing.
    func testScratchDirectoriesOfKilledOwnersAreRemoved() throws {
        let parent = scratch()
        func makeDir(_ name: String) throws {
            try FileManager.default.createDirectory(atPath: parent + "/" + name, withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: parent + "/" + name + "/.lock", contents: nil))
            XCTAssertTrue(FileManager.default.createFile(atPath: parent + "/" + name + "/payload-0.bin", contents: Data(count: 4096)))
        }
        try makeDir("run-4242")  // its owner died: nobody holds the lock
        try makeDir("run-4243")
        try makeDir("other-4244")
        let holder = try lockHolder(parent + "/run-4243/.lock")
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }

        let mine = try ScratchDirectory(parent: parent, base: "run")
        XCTAssertEqual(Set(entries(parent)), ["other-4244", "run-4243", "run-\(getpid())"])
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let second = try ScratchDirectory(parent: parent, base: "run")
        XCTAssertNotEqual(second.path, mine.path)
        XCTAssertEqual(Set(entries(parent)), ["other-4244", "run-\(getpid())", "run-\(getpid())-1"], "the killed owner's is gone, the live one kept")
        mine.remove()
        second.remove()
        XCTAssertEqual(entries(parent), ["other-4244"])
    }

    /// Item 12: while a write is in progress its temporary is locked (so a second writer's cleanup cannot
    /// take it), and a temporary named with this very process's id (PID reuse) does not block a write.
    func testTemporaryIsLockedWhileWritingAndPIDReuseIsHarmless() throws {
        let dir = scratch()
        let reused = dir + "/.m.bin.tmp-\(getpid())"
        XCTAssertTrue(FileManager.default.createFile(atPath: reused, contents: Data([9])))
        var lockedDuringWrite = false
        try AtomicFile.write([1], to: dir + "/m.bin") { _ in
            // Called between the write and the rename: the temporary exists and its lock is taken.
            for name in self.entries(dir) where name.hasPrefix(".m.bin.tmp-") {
                let fd = open(dir + "/" + name, O_RDONLY)
                lockedDuringWrite = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0
                close(fd)
            }
            return nil
        }
        XCTAssertTrue(lockedDuringWrite)
        XCTAssertEqual(entries(dir), ["m.bin"])
    }

    /// Item 11: output its reader refuses is never renamed into place; the old file stays.
    func testValidationFailureKeepsTheOldFileAndLeavesNoTemporary() throws {
        let dir = scratch()
        try AtomicFile.write([1, 2, 3], to: dir + "/m.bin")
        XCTAssertThrowsError(try AtomicFile.write([0xFF], to: dir + "/m.bin") { _ in "byte 0 is 255, expected at most 3" }) {
            XCTAssertEqual($0 as? DatasetError, .invalidOutput(path: dir + "/m.bin", reason: "byte 0 is 255, expected at most 3"))
            XCTAssertTrue("\($0)".contains("byte 0 is 255"), "\($0)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/m.bin"), Data([1, 2, 3]))
        XCTAssertEqual(entries(dir), ["m.bin"])
        // IDX files are checked with the IDX reader.
        try IDXFile(dimensions: [2, 1, 1], bytes: [3, 4]).write(to: dir + "/x-idx3")
        XCTAssertEqual(try IDXFile.parse(Array(FileManager.default.contents(atPath: dir + "/x-idx3")!), expectedDims: 3, path: "x").bytes, [3, 4])
    }

    /// Item 7: every spelling of the same file is recognised: itself, `a/../a`, `./`, symlinks (also to a
    /// file that does not exist yet via its directory), and hard links; a different file is not.
    func testFileIdentitySeesThroughSpellingsSymlinksAndHardLinks() throws {
        let dir = scratch()
        let input = dir + "/m.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: input, contents: Data([1])))
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: input)
        try FileManager.default.createSymbolicLink(atPath: dir + "/dirlink", withDestinationPath: dir + "/sub")
        XCTAssertEqual(link(input, dir + "/hard"), 0)
        for same in [input, dir + "/sub/../m.safetensors", dir + "/./m.safetensors", dir + "//m.safetensors",
                     dir + "/link", dir + "/hard", dir + "/dirlink/../m.safetensors"] {
            XCTAssertThrowsError(try FileIdentity.requireDistinct(outputs: [same], inputs: ["/nonexistent/x", input]), same) {
                XCTAssertEqual($0 as? DatasetError, .outputIsInput(output: same, input: input))
                XCTAssertTrue("\($0)".contains(same) && "\($0)".contains(input), "\($0)")
            }
        }
        // Not yet existing outputs through a symlinked directory resolve too.
        XCTAssertTrue(FileIdentity.sameFile(dir + "/dirlink/new.bsm", dir + "/sub/new.bsm"))
        for different in [dir + "/m.bsm", dir + "/sub/m.safetensors", dir + "/new/../../m.safetensors/x"] {
            XCTAssertNoThrow(try FileIdentity.requireDistinct(outputs: [different], inputs: [input]), different)
        }
    }

    /// Red-team row 16: replacing a 0600 file (a private checkpoint) made it 0644; now the replaced file's
    /// permission bits carry over (0600, 0640, 0755), and a new file still gets 0666 less the umask.
    func testReplacingAFileKeepsItsPermissionBits() throws {
        let dir = scratch()
        let path = dir + "/p.safetensors"
        for mode in [0o600, 0o640, 0o755] as [mode_t] {
            try AtomicFile.write([1], to: path)
            XCTAssertEqual(chmod(path, mode), 0)
            try AtomicFile.write([2, 3], to: path)
            var s = stat()
            XCTAssertEqual(stat(path, &s), 0)
            XCTAssertEqual(String(s.st_mode & 0o777, radix: 8), String(mode, radix: 8))
            XCTAssertEqual(FileManager.default.contents(atPath: path), Data([2, 3]))
            unlink(path)
        }
        let mask = umask(0o022)
        defer { umask(mask) }
        try AtomicFile.write([4], to: path)
        var s = stat()
        XCTAssertEqual(stat(path, &s), 0)
        XCTAssertEqual(String(s.st_mode & 0o777, radix: 8), "644")
    }

    /// The lock of a file being produced (`FileLock(guarding:)`, red-team row 11): a second taker gets
    /// `.locked` naming the target, the lock `.NAME.lock` beside the resolved target and the holder's
    /// process id; another spelling of the target (`x/../NAME`) shares the lock; release frees it and
    /// removes the file.
    func testAFileLockRefusesASecondHolderNamingTheFirst() throws {
        let dir = scratch()
        let target = dir + "/cc.safetensors"
        let lock = try FileLock(guarding: target, holder: "training run")
        XCTAssertEqual(lock.path, FileIdentity.canonicalPath(dir) + "/.cc.safetensors.lock")
        XCTAssertThrowsError(try FileLock(guarding: dir + "/x/../cc.safetensors", holder: "training run")) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("another training run (process \(getpid()))") && text.contains(lock.path), text)
        }
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock.path))
        XCTAssertNoThrow(try FileLock(guarding: target, holder: "training run").release())
    }

    /// The neighbour of red-team rows 1 and 19c: a target that names a directory ("", `d/`, `d/.`, `d/..`)
    /// is refused, naming it (Foundation's URL took `d/` to mean a file `d` in the parent); a bare name is
    /// written in the working directory.
    func testATargetNamingADirectoryIsRefused() throws {
        let dir = scratch()
        for target in ["", dir + "/d/", dir + "/d/.", dir + "/d/.."] {
            XCTAssertThrowsError(try AtomicFile.write([1], to: target), target) {
                XCTAssertTrue("\($0)".contains("names a directory") || "\($0)".contains("is empty"), "\($0)")
            }
        }
        XCTAssertEqual(entries(dir), [])
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        try AtomicFile.write([7], to: "bare")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/bare"), Data([7]))
    }

    /// `-o /dev/null` (or /dev/stdout, a FIFO, a symlink to one): the temporary was renamed over the target,
    /// replacing the device node itself when run as root (this is how /dev/null became a regular file) and
    /// the link or FIFO otherwise. Such a target is now written in place and stays what it was.
    func testANonRegularTargetIsWrittenInPlaceNotReplaced() throws {
        let dir = scratch()
        let link = dir + "/null", fifo = dir + "/fifo"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/dev/null")
        try AtomicFile.write([1, 2, 3], to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "/dev/null", "the link was replaced")
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try AtomicFile.write([1], to: fifo), "no reader: an error, not a wait") {
            XCTAssertTrue("\($0)".contains("a FIFO with no reader"), "\($0)")
        }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        try AtomicFile.write([7, 8, 9], to: fifo)
        var got = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(read(reader, &got, 8), 3)
        XCTAssertEqual(Array(got.prefix(3)), [7, 8, 9])
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "the FIFO was replaced by a file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["fifo", "null"], "no temporary left")
        // A block device is never written, even through a link (a disk behind a planted symlink): a node of an
        // unused loop device here (root only; nothing could be written to it either way).
        if mknod(dir + "/blk", S_IFBLK | 0o600, dev_t(7 << 8 | 250)) == 0 {   // makedev(7, 250)
            try FileManager.default.createSymbolicLink(atPath: dir + "/disk", withDestinationPath: dir + "/blk")
            XCTAssertThrowsError(try AtomicFile.write([1], to: dir + "/disk")) { XCTAssertTrue("\($0)".contains("block device"), "\($0)") }
        }
    }
}
