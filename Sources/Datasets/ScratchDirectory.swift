import Foundation

/// A private working directory `PARENT/BASE-PID` that a killed process does not leave behind for long
/// (issue 12, item 12: the rule of `AtomicFile` for directories). Its owner holds an flock(2) on
/// `BASE-PID/.lock` for the directory's life; creating a scratch directory first removes every
/// `BASE-*` directory of the same parent whose lock can be taken (its owner died: the kernel released
/// the lock, so PID reuse cannot fool this). A directory whose owner is alive keeps its lock and is left
/// alone; one without a lock file (an owner killed between mkdir and creating it) holds nothing but is
/// left alone too, since a live owner may be about to lock it.
public final class ScratchDirectory {
    /// The directory's path.
    public let path: String
    private var lock: Int32

    /// Creates and locks `parent/base-PID` (or `base-PID-K`), after removing dead owners' directories.
    public init(parent: String, base: String) throws(DatasetError) {
        ScratchDirectory.removeStale(base: base, in: parent)
        let stem = parent + "/" + base + "-\(getpid())"
        for attempt in 0..<64 {
            let dir = attempt == 0 ? stem : stem + "-\(attempt)"
            guard mkdir(dir, 0o700) == 0 else {
                if errno == EEXIST { continue }
                throw .unwritable(path: dir, reason: "cannot create directory: \(String(cString: strerror(errno)))")
            }
            let lockPath = dir + "/.lock"
            let fd = open(lockPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { continue }  // a cleaner removed the directory meanwhile
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            if FileIdentity.descriptor(fd, stillNames: lockPath) {
                path = dir
                lock = fd
                return
            }
            close(fd)
        }
        throw .unwritable(path: stem, reason: "cannot create a scratch directory (64 names tried)")
    }

    deinit { remove() }

    /// Removes the directory and everything in it, then releases the lock. Idempotent.
    public func remove() {
        guard lock >= 0 else { return }
        try? FileManager.default.removeItem(atPath: path)
        close(lock)
        lock = -1
    }

    /// Removes `base-*` directories in `parent` whose `.lock` can be locked (dead owners). Best effort.
    public static func removeStale(base: String, in parent: String) {
        let prefix = base + "-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let suffix = entry.dropFirst(prefix.count)
            guard !suffix.isEmpty, suffix.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { continue }
            let dir = parent + "/" + entry, lockPath = dir + "/.lock"
            let fd = open(lockPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0, FileIdentity.descriptor(fd, stillNames: lockPath) else { continue }
            var st = stat()
            guard lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { continue }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
