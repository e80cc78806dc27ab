import Foundation

/// Writes files so that a reader never sees a half-written one (used by every tool): the bytes go to a temporary file in
/// the same directory, which is flushed and then renamed over the target.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically, creating the parent directory if needed.
    public static func write(_ bytes: [UInt8], to path: String) throws(DatasetError) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path: dir, reason: "cannot create directory: \(error.localizedDescription)")
        }
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw .unwritable(path: tmp, reason: "cannot open for writing: \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard written == bytes.count, flushed else {
            unlink(tmp)
            throw .unwritable(path: tmp, reason: "short write: \(written) of \(bytes.count) bytes")
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw .unwritable(path: path, reason: "cannot rename temporary file into place: \(reason)")
        }
    }
}
