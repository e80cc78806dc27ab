import Foundation

/// Writes files so that a reader never sees a half-written one, and a killed writer leaves nothing
/// behind for long (used by every tool).
///
/// The bytes go to a temporary file `.NAME.tmp-PID` in the target's directory. The writer holds an
/// exclusive flock(2) on it from creation to rename, so a temporary whose lock can be taken belongs to a
/// writer that died (the kernel releases the lock on death: PID reuse cannot fool this). Before writing,
/// such stale temporaries of the same target are removed; one a live writer holds is left alone. The
/// file is fsynced, optionally checked by the caller's reader (`validate`), renamed over the target, and
/// then the directory is fsynced so that the rename itself survives a crash. A replaced target's permission
/// bits carry over to the new file. A target that exists and is not a regular file (`-o /dev/null`,
/// `/dev/stdout`, a FIFO) is written in place instead: renaming over it would replace the device or link.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically, creating the parent directory if needed. `validate` reads the
    /// exact bytes written with the matching reader before they are renamed into place and returns the
    /// reader's complaint, or nil; on a complaint the temporary file is removed, the target is untouched
    /// and `.invalidOutput` carries the message.
    public static func write(_ bytes: [UInt8], to path: String,
                             validate: (([UInt8]) -> String?)? = nil) throws(DatasetError) {
        if let problem = PathText.fileNameProblem(path) { throw .unwritable(path: path, reason: "the path \(problem)") }
        // An existing target that is not a file (/dev/null, /dev/stdout, a FIFO; or a symlink to one) is
        // written in place: a rename over it would replace the device node or the link itself.
        // A block device (a disk, maybe behind a planted symlink) is never a tool's output.
        var target = stat()
        if stat(path, &target) == 0, (target.st_mode & S_IFMT) != S_IFREG, (target.st_mode & S_IFMT) != S_IFDIR {
            guard (target.st_mode & S_IFMT) != S_IFBLK else { throw .unwritable(path: path, reason: "is a block device, not a file") }
            if let problem = validate?(bytes) { throw .invalidOutput(path: path, reason: problem) }
            return try writeInPlace(bytes, to: path)
        }
        let directory = PathText.directory(of: path), dir = directory.isEmpty ? "." : directory
        let name = PathText.lastComponent(of: path)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path: dir, reason: "cannot create directory: \(error.localizedDescription)")
        }
        removeStaleTemporaries(of: name, in: dir)
        let (fd, tmp) = try createLockedTemporary(for: name, in: dir)
        defer { close(fd) }  // after the rename: releases the lock
        func abandon(_ error: DatasetError) -> DatasetError {
            unlink(tmp)
            return error
        }
        // Replacing a file keeps its permission bits (a 0600 checkpoint stays private), set before any byte
        // is written, and its owner and group where the system allows (root, or a group the writer is in);
        // a new file gets the usual 0666 less the umask.
        var existing = stat()
        if stat(path, &existing) == 0 {
            _ = fchown(fd, existing.st_uid, existing.st_gid)
            guard fchmod(fd, existing.st_mode & 0o777) == 0 else {
                throw abandon(.unwritable(path: tmp, reason: "cannot keep the mode \(String(existing.st_mode & 0o777, radix: 8)) of \(path): \(String(cString: strerror(errno)))"))
            }
        }
        do { try writeAll(bytes, to: fd, path: tmp) } catch { throw abandon(error) }
        guard fsync(fd) == 0 else {
            throw abandon(.unwritable(path: tmp, reason: "fsync failed: \(String(cString: strerror(errno)))"))
        }
        if let problem = validate?(bytes) {
            throw abandon(.invalidOutput(path: path, reason: problem))
        }
        guard rename(tmp, path) == 0 else {
            throw abandon(.unwritable(path: path, reason: "cannot rename temporary file into place: \(String(cString: strerror(errno)))"))
        }
        syncDirectory(dir)
    }

    /// Writes `bytes` to an existing non-regular file (a device, a FIFO, a terminal) through an ordinary open:
    /// nothing there can be half-written for a reader to see, and nothing may replace it.
    /// Opened non-blocking, so a FIFO nobody reads is an error (ENXIO) rather than a wait without end, then
    /// written blocking (a pipe's reader takes its time).
    static func writeInPlace(_ bytes: [UInt8], to path: String) throws(DatasetError) {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENXIO ? "a FIFO with no reader" : String(cString: strerror(errno))
            throw .unwritable(path: path, reason: "cannot open for writing: \(reason)")
        }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        try writeAll(bytes, to: fd, path: path)
    }

    /// Writes all of `bytes` to `fd` (retrying interrupted and partial writes); `path` names it in the error.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(DatasetError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "no progress"
                throw .unwritable(path: path, reason: "short write: \(done) of \(bytes.count) bytes (\(reason))")
            }
            done += n
        }
    }

    /// The temporary-file prefix of target `name`: `.NAME.tmp-`, followed by the writer's PID.
    static func temporaryPrefix(of name: String) -> String { "." + name + ".tmp-" }

    /// Creates `.NAME.tmp-PID` (or `.NAME.tmp-PID-K` when that name is taken by a live writer) exclusively
    /// and takes its flock. A concurrent cleaner may remove the file between creation and lock; then the
    /// path no longer names the locked inode, and the next name is tried.
    static func createLockedTemporary(for name: String, in dir: String) throws(DatasetError) -> (Int32, String) {
        let base = dir + "/" + temporaryPrefix(of: name) + "\(getpid())"
        var lastError: Int32 = 0
        for attempt in 0..<64 {
            let tmp = attempt == 0 ? base : base + "-\(attempt)"
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd < 0 {
                lastError = errno
                if errno == EEXIST { continue }
                throw .unwritable(path: tmp, reason: "cannot open for writing: \(String(cString: strerror(errno)))")
            }
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            if FileIdentity.descriptor(fd, stillNames: tmp) { return (fd, tmp) }
            close(fd)
        }
        throw .unwritable(path: base, reason: "cannot create a temporary file (64 names tried; last error: \(String(cString: strerror(lastError))))")
    }

    /// Removes `.NAME.tmp-*` files in `dir` whose flock can be taken: their writer is dead. A temporary
    /// held by a live writer keeps its lock and is left alone. Best effort: errors are ignored.
    public static func removeStaleTemporaries(of name: String, in dir: String) {
        let prefix = temporaryPrefix(of: name)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let suffix = entry.dropFirst(prefix.count)
            guard !suffix.isEmpty, suffix.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { continue }
            let path = dir + "/" + entry
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            // Unlink only the inode just locked (not a file created under the same name meanwhile).
            if FileIdentity.descriptor(fd, stillNames: path) { unlink(path) }
        }
    }

    /// fsyncs a directory, so that a rename in it is durable. Best effort (some file systems refuse).
    static func syncDirectory(_ dir: String) {
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
