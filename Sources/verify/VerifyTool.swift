import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Inference
import ModelFile
import ModelFormat
import Verification

/// `verify`: decides, image by image, whether any perturbation within ε changes a binary model's class
/// (docs/VERIFY.md): robust (proved), a counterexample (checked with the runtime), or unknown.
extension VerificationMethod: ExpressibleByArgument {}
extension SearchClock: ExpressibleByArgument {}

struct VerifyTool: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Certify the robustness of a binary BitShield model (.bsm) image by image within an L-infinity budget.",
        discussion: """
        Examples:
          verify model.bsm --eps 0.1 --dataset mnist --limit 100
          verify model.bsm --eps 0.2 --images x-images-idx3-ubyte --labels x-labels-idx1-ubyte --counterexamples cex --journal run.journal --json

        Per image: robust (proved: no image within floor(255 eps) pixel units changes the class), counterexample (an \
        image in the ball that the runtime classifies otherwise; a clean error is its own counterexample) or unknown \
        (the time limit came first; never counted as robust). The certified accuracy is the robust fraction. Takes models \
        of binary, XNOR or ternary dense layers on delta < 8 bit input (convert's FCNs); refuses others naming the op. \
        Counterexamples are written as an IDX pair (PREFIX-images-idx3-ubyte, PREFIX-labels-idx1-ubyte, the true labels): \
        infer scores them 0. The method and its sources: docs/VERIFY.md.

        Exit codes: 0 success, 1 failure, 64 bad usage.
        """)

    @Argument(help: "A .bsm model file (convert writes them).")
    var model: String

    @Option(help: "The L-infinity budget on the [0, 1] pixel scale (0...1); images change by at most floor(255 eps) pixel units.")
    var eps: Float

    @OptionGroup var testImages: TestImageOptions

    @Option(help: "Seconds of search per image before it is reported unknown, on --clock.")
    var timeout: Double = 60

    @Option(help: "What --timeout and the reported times measure: cpu (the search thread's CPU time: one thread's work, unchanged by other load on the machine) or wall (elapsed time).")
    var clock: SearchClock = .cpu

    @Option(help: "The complete search after the bounds and the attack: bab (branch and bound over the free pixels), sat (one CaDiCaL formula per image) or units (branch and bound over the first-layer units the bounds leave open, each forced sign propagated to the pixels).")
    var method: VerificationMethod = .branchAndBound

    @Option(help: "With --method bab, decide a box of at most N images (the product of its free pixels' level counts) by running each of them instead of splitting it; 0 never does.")
    var leafLimit: Int = BinaryNetwork.defaultLeafLimit

    @Option(help: "With --method bab, also decide a box of at most N images by running each of them when the bounds leave more than half of the last hidden layer open (where splitting rarely closes a box); 0 never does.")
    var wideLeafLimit: Int = BinaryNetwork.defaultWideLeafLimit

    /// The search's settings as the journal records them (`METHOD/leafN/CLOCK`): what an unknown verdict
    /// depends on besides the time limit.
    var searchSettings: String {
        method == .branchAndBound ? "bab/leaf\(leafLimit)w\(wideLeafLimit)/\(clock.rawValue)" : "\(method.rawValue)/leaf0/\(clock.rawValue)"
    }

    @Option(help: "Write the counterexamples as an IDX pair PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte.")
    var counterexamples: String?

    @Option(help: "Journal file: one line per image, appended as it is decided; a rerun with the same model and budget resumes.")
    var journal: String?

    @Option(help: "Images searched at once, each on its own thread (1...256); --timeout and the times stay per image, on its own thread's clock. Per-image lines come in the order images finish.")
    var jobs: Int = 1

    @Flag(help: "Print one JSON object on one line, as the last line of stdout.")
    var json = false

    func validate() throws {
        guard eps.isFinite, (0...1).contains(eps) else { throw ValidationError("--eps \(eps) is outside 0...1") }
        guard timeout.isFinite, timeout > 0, timeout <= 1e6 else { throw ValidationError("--timeout \(timeout) must be in (0, 1000000] seconds") }
        guard (0...(1 << 40)).contains(leafLimit) else { throw ValidationError("--leaf-limit \(leafLimit) must be in 0...\(1 << 40) images") }
        guard (0...(1 << 40)).contains(wideLeafLimit) else { throw ValidationError("--wide-leaf-limit \(wideLeafLimit) must be in 0...\(1 << 40) images") }
        guard (1...256).contains(jobs) else { throw ValidationError("--jobs \(jobs) must be in 1...256") }
        if let counterexamples { try requireFilePrefix(counterexamples, files: cexPaths(counterexamples), option: "--counterexamples") }
        if let journal { try requireWritableFile(journal, option: "--journal") }
    }

    func cexPaths(_ prefix: String) -> [String] { [prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"] }

    /// Every file this run reads, which no output may overwrite.
    func inputFiles() -> [String] {
        [model] + testImages.files()
    }

    func fail(_ message: String) -> ToolError { .failure(message) }

    func execute() throws {
        let outputs = (counterexamples.map(cexPaths) ?? []) + (journal.map { [$0] } ?? [])
        try refuseOverwriting(inputs: inputFiles(), with: outputs)
        let fileData = try BoundedFile.contents(of: model, limit: ModelFile.maxFileBytes, what: "model file (.bsm)")
        let file: ModelFile
        do throws(ModelFormatError) { file = try ModelFile.parse(fileData) } catch { throw fail("\(model): \(error.message)") }

        let imageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: file.image.count, alignment: 64)
        defer { imageBuffer.deallocate() }
        file.image.withUnsafeBytes { imageBuffer.copyMemory(from: $0) }
        let image: ModelImage
        do throws(ModelFormatError) { image = try ModelImage(bytes: UnsafeRawBufferPointer(imageBuffer)) } catch { throw fail("\(model): \(error.message)") }
        let network: BinaryNetwork
        do throws(VerificationError) { network = try BinaryNetwork(image: image) } catch { throw fail("\(model): \(error)") }

        let (data, source) = try testImages.load()
        let first = testImages.first   // the index of data's image 0 in the whole set (--skip)
        guard (data.height, data.width, data.channels) == (network.height, network.width, network.channels) else {
            throw fail("the model takes \(network.height)x\(network.width)x\(network.channels) images, \(source) has \(data.height)x\(data.width)x\(data.channels)")
        }
        if let bad = data.labels.firstIndex(where: { Int($0) >= network.classes }) {
            throw fail("label \(data.labels[bad]) at index \(first + bad) of \(testImages.labelsSource) is not below the model's \(network.classes) classes")
        }

        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Interpreter.arenaBytes(for: image, kernels: .optimized), alignment: 16)
        defer { arena.deallocate() }
        let runtime: Interpreter
        do throws(InferenceError) { runtime = try Interpreter(image: UnsafeRawBufferPointer(imageBuffer), arena: arena, kernels: .optimized) }
        catch { throw fail("\(model): \(error.message)") }

        let budget = PixelBudget.units(epsilon: eps)
        let sha = SHA256.hex(file.imageSHA256)
        let log = try journal.map { try VerifyJournal(path: $0, model: sha, budget: budget) }
        defer { log?.release() }

        var verdicts: [String] = [], seconds: [Double] = [], counterexampleIndices: [Int] = []
        var cexPixels: [UInt8] = [], cexLabels: [UInt8] = []
        var resumed = 0, cleanCorrect = 0
        // First the journal: each image it decides (or leaves unknown for this search and limit) is taken from it;
        // the others are searched, `--jobs` at a time, and journaled as each finishes.
        var entries = [VerifyJournal.Entry?](repeating: nil, count: data.count)
        var pending: [Int] = []
        let (allPixels, imageSize) = (data.pixels, data.imageSize)
        @Sendable func imagePixels(_ i: Int) -> [UInt8] { Array(allPixels[(i * imageSize)..<((i + 1) * imageSize)]) }
        for i in 0..<data.count {
            let pixels = imagePixels(i)
            let label = Int(data.labels[i])
            let key = VerifyJournal.key(label: data.labels[i], pixels: pixels[...])
            var journaled = log?.entries[first + i].flatMap { $0.key == key ? $0.entry : nil }
            // A journal is edited as easily as written: a counterexample it holds must still be one (in the
            // ball, misclassified by the runtime), and an image it calls robust must at least be classified
            // right, else the image is verified again (never reported as a bug, never counted as robust).
            if let cex = journaled?.pixels, !isCounterexample(cex, clean: pixels, label: label, budget: budget, runtime: runtime) {
                printWarning("\(journal ?? ""): the journaled counterexample of image \(first + i) is not one (outside the ball of \(budget) pixel units, or classified \(label), its label); verifying it again")
                journaled = nil
            } else if journaled?.verdict == "robust", isCounterexample(pixels, clean: pixels, label: label, budget: budget, runtime: runtime) {
                printWarning("\(journal ?? ""): the journal calls image \(first + i) robust, but the runtime classifies it wrong; verifying it again")
                journaled = nil
            }
            // A decided image stands whatever search decided it; an unknown only for the same search with no
            // longer a limit (another method, leaf limit or clock may decide it).
            if let e = journaled, e.verdict != "unknown" || (e.search == searchSettings && e.timeout >= timeout) {
                entries[i] = e
                resumed += 1
            } else {
                pending.append(i)
            }
        }

        let (method, clock, leafLimit, wideLeafLimit, timeout, searchSettings) = (method, clock, leafLimit, wideLeafLimit, timeout, searchSettings)
        let labels = data.labels
        try ParallelImages.run(pending, jobs: jobs, work: { i in
            let pixels = imagePixels(i)
            // On the worker's thread: the CPU clock is this image's search alone.
            let start = clock.now()
            let result = Result { () throws(VerificationError) in
                try network.verify(pixels, label: Int(labels[i]), budget: budget, timeLimit: .milliseconds(Int64(timeout * 1000)),
                                   method: method, clock: clock, leafLimit: leafLimit, wideLeafLimit: wideLeafLimit)
            }
            return (result, clock.now() - start)
        }, consume: { i, outcome in
            let (searched, s) = outcome
            let result: VerificationResult
            do { result = try searched.get() } catch { throw fail("image \(first + i): \(error)") }
            let pixels = imagePixels(i)
            let runtimeClass = pixels.withUnsafeBufferPointer { runtime.invoke($0.baseAddress!) }
            guard runtimeClass == result.cleanClass else {
                throw fail("bug: image \(first + i): the verifier computes class \(result.cleanClass), the runtime \(runtimeClass)")
            }
            let entry: VerifyJournal.Entry
            switch result.verdict {
            case .robust: entry = .init(verdict: "robust", seconds: s, nodes: result.nodes, timeout: timeout, search: searchSettings, pixels: nil)
            case let .counterexample(p): entry = .init(verdict: "counterexample", seconds: s, nodes: result.nodes, timeout: timeout, search: searchSettings, pixels: p)
            case .unknown: entry = .init(verdict: "unknown", seconds: s, nodes: result.nodes, timeout: timeout, search: searchSettings, pixels: nil)
            }
            try log?.append(index: first + i, key: VerifyJournal.key(label: labels[i], pixels: pixels[...]), entry)
            if let cex = entry.pixels { try checkCounterexample(cex, clean: pixels, label: Int(labels[i]), index: first + i, budget: budget, runtime: runtime) }
            entries[i] = entry
            if !json { print("image \(first + i): \(entry.verdict) (\(String(format: "%.3f", s)) s, \(result.nodes) nodes, \(result.leafImages) leaf images, \(result.freePixels) free pixels)") }
        })

        for i in 0..<data.count {
            guard let entry = entries[i] else { throw fail("bug: image \(first + i) was neither journaled nor searched") }
            let pixels = imagePixels(i)
            let label = Int(data.labels[i])
            if let cex = entry.pixels {
                try checkCounterexample(cex, clean: pixels, label: label, index: first + i, budget: budget, runtime: runtime)
                counterexampleIndices.append(first + i)
                cexPixels += cex
                cexLabels.append(data.labels[i])
            }
            if pixels.withUnsafeBufferPointer({ runtime.invoke($0.baseAddress!) }) == label { cleanCorrect += 1 }
            verdicts.append(entry.verdict)
            seconds.append(entry.seconds)
        }

        if let counterexamples {
            if cexLabels.isEmpty {
                // An IDX set holds at least one image: none is written, and files of an earlier run under the
                // prefix are removed so that they are not taken for this run's.
                for path in cexPaths(counterexamples) where FileManager.default.fileExists(atPath: path) {
                    do { try FileManager.default.removeItem(atPath: path) } catch {
                        throw fail("\(path): cannot remove the earlier run's counterexamples: \(error.localizedDescription)")
                    }
                }
                printWarning("no counterexamples: nothing written to \(counterexamples)-*")
            } else {
                let set = try ImageSet(height: data.height, width: data.width, channels: data.channels, classes: 256, pixels: cexPixels, labels: cexLabels)
                try set.writeIDX(prefix: counterexamples)
            }
        }
        let n = data.count
        let robust = verdicts.filter { $0 == "robust" }.count, notRobust = verdicts.filter { $0 == "counterexample" }.count
        let unknown = n - robust - notRobust
        let sorted = seconds.sorted()
        /// The nearest-rank quantile.
        func quantile(_ q: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
        let certified = Double(robust) / Double(max(n, 1)), clean = Double(cleanCorrect) / Double(max(n, 1))
        print("\(model) on \(source): \(n) images\(first > 0 ? " from image \(first)" : ""), eps \(eps) (\(budget) pixel units), timeout \(timeout) s (\(clock.rawValue)) per image")
        print("robust \(robust), counterexample \(notRobust) (clean errors \(n - cleanCorrect)), unknown \(unknown)\(resumed > 0 ? "; \(resumed) from the journal" : "")")
        print(String(format: "certified accuracy %.4f (at most %.4f with the unknown), clean accuracy %.4f", certified, Double(robust + unknown) / Double(max(n, 1)), clean))
        print(String(format: "time per image: median %.3f s, p90 %.3f s, max %.3f s", quantile(0.5), quantile(0.9), sorted.last ?? 0))
        if json {
            print(try jsonLine([
                "model": model, "model_sha256": sha, "source": source, "first_image": first, "images": n, "eps": Double("\(eps)") ?? Double(eps), "pixel_budget": budget,
                "timeout_s": timeout, "clock": clock.rawValue, "method": method.rawValue, "leaf_limit": leafLimit, "wide_leaf_limit": wideLeafLimit, "robust": robust, "counterexample": notRobust, "unknown": unknown,
                "certified_accuracy": certified, "clean_accuracy": clean, "resumed": resumed,
                "time_median_s": quantile(0.5), "time_p90_s": quantile(0.9), "time_max_s": sorted.last ?? 0,
                "counterexample_indices": counterexampleIndices,
            ]))
        }
    }

    func isInBall(_ x: [UInt8], _ clean: [UInt8], _ budget: Int) -> Bool {
        x.count == clean.count && zip(x, clean).allSatisfy { abs(Int($0) - Int($1)) <= budget }
    }

    /// Whether `x` is a counterexample to image `clean` of class `label`: in the ball, and classified otherwise by the runtime.
    func isCounterexample(_ x: [UInt8], clean: [UInt8], label: Int, budget: Int, runtime: Interpreter) -> Bool {
        isInBall(x, clean, budget) && x.withUnsafeBufferPointer { runtime.invoke($0.baseAddress!) } != label
    }

    /// A counterexample must lie in the ball and be misclassified by the runtime on the same bytes; anything
    /// else is a bug in the verifier (exit 1).
    func checkCounterexample(_ cex: [UInt8], clean: [UInt8], label: Int, index: Int, budget: Int, runtime: Interpreter) throws {
        guard isInBall(cex, clean, budget) else {
            throw fail("bug: the counterexample of image \(index) leaves the ball of \(budget) pixel units")
        }
        let c = cex.withUnsafeBufferPointer { runtime.invoke($0.baseAddress!) }
        guard c != label else {
            throw fail("bug: the counterexample of image \(index) is classified \(c), its label, by the runtime")
        }
    }
}
