import Datasets
import Foundation

// Certified beside attacked (issue 16, item 4): when asked (--certify), for each (model, eps) of a sweep, the `verify` executable
// (beside this one, or --verify) runs in a subprocess on the .bsm beside the checkpoint, on the same clean
// test images the attacks start from, and its robust count goes into every cell of that model and eps. Every
// attack's stored images are real images in the ball, so its robust accuracy can never be below the
// certified accuracy: SweepReport flags any that is as a bug, and reports the gap between the strongest
// attack and the certified figure.

/// What `verify` said about one (model, eps), or why it did not run.
struct CertifiedFigure {
    /// Images proved robust, and those left unknown at the time limit (nil: verify did not run).
    var robust: Int?
    var unknown: Int?
    /// Why there is no figure (no .bsm, no verify executable, a model verify refuses), or nil.
    var note: String?

    /// The note of every cell of a sweep run without `--certify`.
    static let notRunNote = "not run (train sweep --certify runs verify)"
    /// The figure of a sweep run without `--certify`.
    static let notRun = CertifiedFigure(note: notRunNote)

    /// Copies the figure into a cell.
    func apply(to cell: inout SweepCell) {
        cell.certifiedRobust = robust
        cell.certifiedUnknown = unknown
        cell.certifiedNote = note
    }
}

extension RobustnessSweep {
    /// The `verify` executable, when it is one.
    var verifyExecutable: String? {
        settings.verifyExecutable.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    /// Runs `verify` on the .bsm beside the checkpoint at `path` over `test` at `eps`; never throws: what
    /// went wrong is the figure's note (the column says n/a).
    func certify(model path: String, name: String, test: ImageSet, eps: Float) -> CertifiedFigure {
        guard let bsm = runtimeModel(for: path) else { return CertifiedFigure(note: "n/a: no .bsm beside the checkpoint") }
        guard let verify = verifyExecutable else {
            return CertifiedFigure(note: "n/a: verify executable not found (\(settings.verifyExecutable.map { "\($0) is not an executable file" } ?? "none beside this one"))")
        }
        let dir = settings.out + "-sets"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let prefix = dir + "/\(name.replacingOccurrences(of: "/", with: "_"))-clean-\(eps)"
        let scratch = test.idxPaths(prefix: prefix)
        do { try FileIdentity.requireDistinct(outputs: scratch, inputs: inputPaths) } catch {
            return CertifiedFigure(note: "n/a: \(error)")
        }
        defer {
            for file in scratch { try? FileManager.default.removeItem(atPath: file) }
            try? FileManager.default.removeItem(atPath: dir)  // only when empty
        }
        do { try test.writeIDX(prefix: prefix) } catch { return CertifiedFigure(note: "n/a: could not write the test set: \(error)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: verify)
        process.arguments = [bsm, "--eps", "\(eps)", "--images", scratch[0], "--labels", scratch[1],
                             "--timeout", "\(settings.verifyTimeout)", "--json"]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch { return CertifiedFigure(note: "n/a: could not run \(verify): \(error)") }
        // stderr is read on its own thread, so that a full pipe never blocks verify while stdout is read.
        // verify stops each image at --verify-timeout: one still running at twice the total plus a grace hangs.
        let allowed = Double(test.count) * settings.verifyTimeout * 2 + settings.verifyGrace
        let watchdog = ChildOutput.Watchdog(process, seconds: allowed)
        let errorText = ErrorCollector(stderr.fileHandleForReading)
        let output = ChildOutput.tail(stdout.fileHandleForReading)
        process.waitUntilExit()
        if watchdog.cancel() {
            return CertifiedFigure(note: "n/a: verify still ran after \(allowed) s (2 x \(test.count) images x \(settings.verifyTimeout) s + \(settings.verifyGrace) s) and was stopped")
        }
        guard process.terminationStatus == 0 else {
            let why = errorText.lastLine()
            return CertifiedFigure(note: "n/a: verify exited with status \(process.terminationStatus)\(why.isEmpty ? "" : ": " + why)")
        }
        let lastLine = ChildOutput.lastLine(output)
        guard let object = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any],
              let images = JSONValue.integer(object["images"]), let robust = JSONValue.integer(object["robust"]), let unknown = JSONValue.integer(object["unknown"]),
              let counterexamples = JSONValue.integer(object["counterexample"]) else {
            return CertifiedFigure(note: "n/a: verify printed no JSON counts (images, robust, counterexample, unknown)")
        }
        // Another process's numbers: checked before they are reported. They must describe this run (the
        // budget asked for) and be whole: every image robust, a counterexample or unknown, exactly once.
        let asked = Double("\(eps)") ?? Double(eps)
        guard let reportedEps = JSONValue.double(object["eps"]), reportedEps == asked else {
            return CertifiedFigure(note: "n/a: verify reported eps \(object["eps"].map { "\($0)" } ?? "none") for the eps \(asked) it was given")
        }
        guard images == test.count, (0...images).contains(robust), (0...(images - robust)).contains(unknown),
              counterexamples == images - robust - unknown else {
            return CertifiedFigure(note: "n/a: verify reported robust \(robust), counterexample \(counterexamples), unknown \(unknown) of \(images) images for \(test.count)")
        }
        return CertifiedFigure(robust: robust, unknown: unknown)
    }
}

/// Reads a pipe to its end on another thread (a child's stderr), keeping its last `ChildOutput.keptBytes`.
final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = ChildOutput.tail(handle)
            done.signal()
        }
    }

    /// The last non-empty line, once the pipe has closed.
    func lastLine() -> String {
        done.wait()
        return ChildOutput.lastLine(data)
    }
}
