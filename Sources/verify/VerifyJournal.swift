import CLISupport
import Datasets
import Foundation
import ModelFile

/// The per-image journal of a `verify` run, so that an interrupted run resumes: one append-only line per
/// image decided (or given up on),
///
///     verify-v2 MODEL_SHA256 BUDGET INDEX IMAGE_KEY VERDICT SECONDS NODES TIMEOUT SEARCH PIXELS
///
/// keyed by the model image's SHA-256, the budget in pixel units (floor(255 ε): two ε with one budget are
/// one problem), the image's index and IMAGE_KEY (the first 16 hex digits of the SHA-256 of the label and
/// pixels, so another data set under the same index is not mistaken for this one). VERDICT is `robust`,
/// `counterexample` (PIXELS: the counterexample in hex) or `unknown` (TIMEOUT: the limit it ran with; a
/// later run with a longer limit runs the image again). SEARCH names the search that gave the verdict
/// (`METHOD/leafN/CLOCK`, `VerifyTool.searchSettings`): a robust or counterexample verdict is a fact about the
/// model whatever found it, but an unknown is only "this search ran out of time", so it is reused only by
/// the same search with no longer a limit. Lines of the first version (`verify-v1`, no SEARCH) are read too;
/// their unknowns are run again. Lines that do not parse (a line cut by a crash, a
/// negative time or node count) are ignored with a warning, and a counterexample that
/// is not one is verified again (VerifyTool); the run holds an flock on `.NAME.lock` beside the journal.
struct VerifyJournal {
    /// One journaled image.
    struct Entry {
        var verdict: String
        var seconds: Double
        var nodes: Int
        var timeout: Double
        /// The search settings the verdict came from; nil on a `verify-v1` line.
        var search: String?
        var pixels: [UInt8]?
    }

    static let tag = "verify-v2"
    /// The first version's tag: lines without SEARCH.
    static let firstTag = "verify-v1"
    let path: String
    let model: String
    let budget: Int
    private(set) var entries: [Int: (key: String, entry: Entry)] = [:]
    private let lock: FileLock

    /// Opens (or creates) the journal at `path` for `model` (its image's SHA-256 in hex) at `budget`, and
    /// reads the entries of that model and budget.
    init(path: String, model: String, budget: Int) throws {
        self.path = path
        self.model = model
        self.budget = budget
        lock = try FileLock(guarding: path, holder: "verify run")
        guard FileManager.default.fileExists(atPath: path) else { return }
        let text = try BoundedFile.contents(of: path, limit: 1 << 28, what: "journal")
        for (n, raw) in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !raw.isEmpty {
            var fields = raw.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            // A first-version line has no SEARCH: read it as one whose search is unknown.
            var search: String? = nil
            if fields.count == 11, fields[0] == Self.tag, !fields[9].isEmpty {
                search = fields.remove(at: 9)
            } else if fields.count == 10, fields[0] == Self.firstTag {
                fields[0] = Self.tag
            }
            guard fields.count == 10, fields[0] == Self.tag, let b = Int(fields[2]), let index = Int(fields[3]), index >= 0,
                  let seconds = Double(fields[6]), seconds.isFinite, seconds >= 0, let nodes = Int(fields[7]), nodes >= 0,
                  let timeout = Double(fields[8]), timeout.isFinite, timeout > 0,
                  ["robust", "counterexample", "unknown"].contains(fields[5]) else {
                printWarning("\(path): line \(n + 1) is not a journal line; ignored")
                continue
            }
            guard fields[1] == model, b == budget else { continue }
            var pixels: [UInt8]? = nil
            if fields[5] == "counterexample" {
                guard let p = Self.bytes(hex: fields[9]) else {
                    printWarning("\(path): line \(n + 1) has a counterexample that is not hex; ignored")
                    continue
                }
                pixels = p
            }
            entries[index] = (fields[4], Entry(verdict: fields[5], seconds: seconds, nodes: nodes, timeout: timeout, search: search, pixels: pixels))
        }
    }

    /// The key of one image: the first 16 hex digits of SHA-256(label, pixels).
    static func key(label: UInt8, pixels: ArraySlice<UInt8>) -> String {
        String(SHA256.hex(SHA256.hash([label] + pixels)).prefix(16))
    }

    /// Appends one image's line and flushes it to disk.
    func append(index: Int, key: String, _ e: Entry) throws {
        let hex = e.pixels.map { SHA256.hex($0) } ?? "-"
        let line = "\(Self.tag) \(model) \(budget) \(index) \(key) \(e.verdict) \(e.seconds) \(e.nodes) \(e.timeout) \(e.search ?? "-") \(hex)\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ToolError.failure("\(path): cannot open the journal: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A line cut short by a crash stays on its own line (and is ignored on reading).
        var prefix: [UInt8] = []
        var last: UInt8 = 0
        let size = lseek(fd, 0, SEEK_END)
        if size > 0, pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") { prefix = [UInt8(ascii: "\n")] }
        let bytes = prefix + Array(line.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw ToolError.failure("\(path): cannot append to the journal: \(String(cString: strerror(errno)))")
        }
    }

    /// Releases the journal's lock.
    func release() { lock.release() }

    static func bytes(hex: String) -> [UInt8]? {
        let u = Array(hex.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: u.count / 2)
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        for i in 0..<out.count {
            guard let h = digit(u[2 * i]), let l = digit(u[2 * i + 1]) else { return nil }
            out[i] = h << 4 | l
        }
        return out
    }
}
