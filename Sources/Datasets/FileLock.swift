import Foundation

/// An exclusive flock(2) on a lock file, held through an open descriptor for as long as the holder needs
/// it (a sweep's journal, a training run's checkpoint). The kernel releases it when the holder dies, so a
/// lock file left by a killed process never blocks, and no process id is trusted (one can be reused by an
/// unrelated process); the file holds the holder's process id for the error message only.
/// `release()` unlinks the file while still holding the lock; a locker that opened the old file sees that
/// its path no longer names it (`FileIdentity.descriptor(_:stillNames:)`) and locks the new one.
public final class FileLock {
    /// The lock file.
    public let path: String
    private var fd: Int32

    /// Takes the lock on `path` without waiting. When another process holds it, throws `.locked` naming
    /// `target` (what the lock protects), the lock file and the holder's process id when known; `holder`
    /// says what kind of process holds such a lock ("sweep", "training run").
    public init(path: String, protecting target: String, holder: String) throws(DatasetError) {
        for _ in 0..<16 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw .unwritable(path: path, reason: "cannot open the lock file: \(String(cString: strerror(errno)))")
            }
            var result = flock(fd, LOCK_EX | LOCK_NB)
            while result != 0 && errno == EINTR { result = flock(fd, LOCK_EX | LOCK_NB) }
            if result != 0 {
                let reason = errno == EWOULDBLOCK ? nil : String(cString: strerror(errno))
                var text = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &text, text.count, 0)
                close(fd)
                let pid = Int32(String(decoding: text.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                throw .locked(target: target, lock: path, holder: holder, pid: pid, reason: reason)
            }
            // A holder that finished meanwhile unlinked the file it locked: then lock the new one.
            guard FileIdentity.descriptor(fd, stillNames: path) else {
                close(fd)
                continue
            }
            let me = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            self.path = path
            self.fd = fd
            return
        }
        throw .unwritable(path: path, reason: "cannot take the lock: the lock file kept changing (16 tries)")
    }

    /// Takes the lock of a file being produced, `.NAME.lock` beside the file `target` resolves to (symlinks
    /// and `..` resolved, so two spellings of one target share a lock), creating its directory if needed.
    public convenience init(guarding target: String, holder: String) throws(DatasetError) {
        let canonical = FileIdentity.canonicalPath(target)
        let dir = PathText.directory(of: canonical)
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .unwritable(path: dir, reason: "cannot create directory: \(error.localizedDescription)")
        }
        try self.init(path: dir + "/." + PathText.lastComponent(of: canonical) + ".lock", protecting: target, holder: holder)
    }

    /// Removes the lock file and releases the lock (once; later calls do nothing).
    public func release() {
        guard fd >= 0 else { return }
        unlink(path)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
