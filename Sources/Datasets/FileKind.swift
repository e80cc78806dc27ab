import Foundation

/// The kind of file a stat(2) mode names, and the check that a data file is a regular one.
enum FileKind {
    /// "a directory", "a FIFO", "a character device"... for a message.
    static func name(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a file of type \(String(mode & S_IFMT, radix: 8))"
        }
    }

    /// Throws `unreadable` naming the kind unless `info` describes a regular file. IDX and CIFAR files are
    /// read by their size, which only a regular file has: a FIFO or /dev/zero reports 0 bytes (and would
    /// read as an empty file, or without end).
    static func requireRegular(_ info: stat, path: String) throws(DatasetError) {
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .unreadable(path: path, reason: "it is \(name(info.st_mode)), not a regular file (data files are read by their size)")
        }
    }

    /// `requireRegular` for the file at `path` (following symbolic links); returns its size.
    static func regularSize(_ path: String) throws(DatasetError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        try requireRegular(info, path: path)
        return Int(info.st_size)
    }
}
