import Foundation

/// Whole-file reads with a size bound stated by the caller (the largest file its format allows), checked
/// before anything is allocated: a regular file by its size, anything else (a pipe, /dev/zero) by reading
/// at most one byte past the bound. Every tool reads `.bsm` files, journals and small inputs through it.
public enum BoundedFile {
    /// The bytes of `path`, which holds a `what` of at most `limit` bytes.
    /// - Throws: `unreadable` with the system's reason, `fileTooLarge` with the size and the bound.
    public static func contents(of path: String, limit: Int, what: String) throws(DatasetError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .unreadable(path: path, reason: "is a directory") }
        let regular = (info.st_mode & S_IFMT) == S_IFREG
        if regular && Int(info.st_size) > limit { throw .fileTooLarge(path: path, what: what, bytes: Int(info.st_size), limit: limit) }
        var out = [UInt8](repeating: 0, count: regular ? Int(info.st_size) : min(limit, 1 << 20) + 1)
        var count = 0
        while true {
            if count == out.count {
                guard !regular, out.count <= limit else { break }
                out += [UInt8](repeating: 0, count: min(out.count, limit + 1 - out.count))
            }
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            count += n
            if count > limit { throw .fileTooLarge(path: path, what: what, bytes: nil, limit: limit) }
        }
        out.removeSubrange(count...)
        return out
    }
}
