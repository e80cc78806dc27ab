import Foundation

/// What a child process (`verify`, `infer`) printed, read without trusting its length: the pipe is drained
/// to its end (so the child never blocks on a full pipe), and only the last `keep` bytes are kept, which
/// hold the last line the sweep parses. A child printing without end costs `keep` plus one read, not memory
/// without bound.
enum ChildOutput {
    /// The bytes a child's output keeps: 64 KiB, far more than a `--json` line.
    static let keptBytes = 1 << 16

    /// The last `keep` bytes written to `handle` before it closed.
    static func tail(_ handle: FileHandle, keep: Int = keptBytes) -> Data {
        var tail = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            tail.append(chunk)
            if tail.count > 2 * keep { tail = Data(tail.suffix(keep)) }
        }
        return tail.count > keep ? Data(tail.suffix(keep)) : tail
    }

    /// The last line of `data` (a `--json` line), or "".
    static func lastLine(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    }

    /// Kills `process` (SIGKILL: a child that traps SIGTERM is stopped too) if it still runs `seconds` after
    /// this call; `fired` says whether it did. Cancel it once the child has exited.
    final class Watchdog: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        private var killed = false

        init(_ process: Process, seconds: Double) {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + min(seconds, 1e9)) { [self] in
                lock.lock()
                defer { lock.unlock() }
                guard !done else { return }
                killed = true
                kill(pid, SIGKILL)
            }
        }

        /// Stops the watchdog (the child exited); returns whether it had killed the child.
        func cancel() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            done = true
            return killed
        }
    }
}
