import ArgumentParser
import CLISupport
import Datasets
import Dispatch
import Foundation
import Inference
import ModelFile
import ModelFormat

/// `infer`: scores a `.bsm` model on a clean or adversarial test set with the allocation-free runtime.
struct InferTool: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Score a BitShield model (.bsm) on a test set with the allocation-free runtime.",
        discussion: """
        Examples:
          infer model.bsm --dataset mnist
          infer model.bsm --images adv/x-pgd-0.1-images-idx3-ubyte --labels adv/x-pgd-0.1-labels-idx1-ubyte --json
          infer model.bsm --device netduinoplus2 --dataset mnist --limit 100
        Scores the images in batches of --batch over --threads threads (default: every core); the results do not
        depend on the thread count. Reports accuracy, per-class accuracy, speed (µs per image at batch 1 on one
        thread, median over the first 1,000 images; images/s in batches of --batch images over --threads threads,
        median of repeated passes) and footprint (file,
        image, arena and peak RSS bytes). With --device, runs the model on a microcontroller simulated by
        qemu-system-arm (make device installs it and builds the firmware) and reports accuracy, agreement with
        the host runtime, flash and RAM bytes and retired instructions per inference.
        Exit codes: 0 success, 1 failure, 64 bad usage.
        """)

    @Argument(help: "A .bsm model file (convert writes them).")
    var model: String

    @OptionGroup var testImages: TestImageOptions

    @Option(help: "Write one predicted label per line to this file.")
    var predictions: String?

    @Option(help: "Write each image's class scores (the argmax op's inputs) to this file, one line per image, space-separated, printed %.9g so they read back exactly.")
    var scores: String?

    @Option(help: "Threads for the scoring pass and the throughput figure, each with its own arena (default: the machine's active cores, at most 64); latency is always one image on one thread.")
    var threads: Int?

    @Option(help: "Images per invoke for the scoring pass and the throughput figure (1...4096; each thread's arena holds a batch). Default: 256, or the largest power of two below it whose arenas fit --max-arena-bytes.")
    var batch: Int?

    @Option(help: ArgumentHelp("The most arena memory infer allocates, in bytes: the batch-1 arena, and the batch arenas of all threads together (default 1073741824, 1 GiB).",
                               discussion: "A model whose batch-1 arena exceeds it is refused with both numbers; without --batch, the throughput batch shrinks until it fits."))
    var maxArenaBytes: Int = 1 << 30

    @Option(help: ArgumentHelp("The most work per image infer runs, in operations (multiply-adds of dense and conv layers, comparisons of max-pools, one per value elsewhere; default 1073741824, 2^30).",
                               discussion: "A model over it is refused with both numbers before any image runs: FCN1 (784-6144x4-10) needs about 118 M, FCN2 1.6 M."))
    var maxOperations: Int = 1 << 30

    @Option(help: "Kernels: optimized (default: the fastest for this CPU), simd, carry-save (the microcontrollers' 32-bit kernels) or reference (plain loops, slow).")
    var kernels: KernelSet = .optimized

    @Option(help: "Run on a simulated board under QEMU: netduinoplus2 (STM32F405, Cortex-M4) or microbit (nRF51, Cortex-M0).")
    var device: Board?

    @Flag(help: "With --device: run the minimal runtime (BOARD-minimal firmware: binary dense layers on columns32 weights only, built for size; scripts/build-firmware.sh BOARD-minimal) instead of the full one.")
    var minimal = false

    @Option(help: "Firmware folder for --device, holding BOARD/firmware.elf and firmware.txt (default: $BITSHIELD_FIRMWARE_DIR, else .build-firmware in the package this infer was built in; make device builds it).")
    var firmwareDir: String?

    @Flag(help: "Also print where the time goes: ns per image of each step (the plan's steps, one thread) at batch 1 and at --batch.")
    var profile = false

    @Flag(help: "Score only: skip the latency and throughput passes (two more runs over the images; train sweep's cross-check needs only the predictions). --json then has no latency_us or images_per_second.")
    var noTiming = false

    @Flag(help: "Print one JSON object on one line, as the last line of stdout.")
    var json = false

    func validate() throws {
        if let threads, !(1...64).contains(threads) { throw ValidationError("--threads \(threads) is outside 1...64") }
        if let batch, !(1...4096).contains(batch) { throw ValidationError("--batch \(batch) is outside 1...4096") }
        try requirePositive("--max-arena-bytes", maxArenaBytes)
        try requirePositive("--max-operations", maxOperations)
        if minimal && device == nil { throw ValidationError("--minimal selects the minimal firmware for --device: give --device BOARD too") }
        if device != nil && kernels != .optimized { throw ValidationError("--device runs the optimized kernels only") }
        if device != nil && profile { throw ValidationError("--profile is not available with --device (the board counts instructions per inference)") }
        if device != nil && scores != nil { throw ValidationError("--scores is not available with --device (the board reports classes only)") }
        if let predictions { try requireWritableFile(predictions, option: "--predictions") }
        if let scores { try requireWritableFile(scores, option: "--scores") }
        if let predictions, let scores, predictions == scores {
            throw ValidationError("--predictions and --scores name the same file '\(scores)'")
        }
    }

    /// `--threads`, or the machine's active cores (1...64).
    var workerCount: Int { threads ?? min(64, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Images whose batch-1 latency is timed (the first ones; all when fewer).
    static let latencySample = 1_000

    /// The tool's failure (exit 1) with `message`: `throw fail(...)`.
    func fail(_ message: String) -> ToolError { .failure(message) }

    func parseModelFile(_ bytes: [UInt8]) throws -> ModelFile {
        switch Result(catching: { () throws(ModelFormatError) in try ModelFile.parse(bytes) }) {
        case let .success(f): return f
        case let .failure(e): throw fail("\(model): \(e.message)")
        }
    }

    func openImage(_ bytes: UnsafeRawBufferPointer) throws -> ModelImage {
        switch Result(catching: { () throws(ModelFormatError) in try ModelImage(bytes: bytes) }) {
        case let .success(i): return i
        case let .failure(e): throw fail("\(model): \(e.message)")
        }
    }

    func makeInterpreter(_ image: UnsafeRawBufferPointer, _ arena: UnsafeMutableRawBufferPointer,
                         _ kernels: KernelSet) throws -> Interpreter {
        switch Result(catching: { () throws(InferenceError) in try Interpreter(image: image, arena: arena, kernels: kernels) }) {
        case let .success(i): return i
        case let .failure(e): throw fail(e.message)
        }
    }

    /// Every file this run reads (the model, the IDX pair with its `.gz` spellings, or the data set's
    /// files), which `--predictions` must not overwrite.
    func inputFiles() -> [String] {
        [model] + testImages.files()
    }

    /// The throughput batch: `--batch` if its arenas (one per thread) fit `--max-arena-bytes`, else
    /// refused; without `--batch`, 256 halved until they fit (at least 1: the batch-1 arena fits).
    func throughputBatch(_ image: ModelImage, _ kernels: KernelSet) throws -> Int {
        func total(_ b: Int) -> Int {
            let (t, o) = Interpreter.arenaBytes(for: image, kernels: kernels, batch: b).multipliedReportingOverflow(by: workerCount)
            return o ? Int.max : t
        }
        if let batch {
            guard total(batch) <= maxArenaBytes else {
                throw fail("\(model): \(workerCount) arena(s) for batches of \(batch) need \(total(batch) == Int.max ? "more than Int.max" : String(total(batch))) bytes, above --max-arena-bytes \(maxArenaBytes)")
            }
            return batch
        }
        var b = 256
        while b > 1 && total(b) > maxArenaBytes { b /= 2 }
        guard total(b) <= maxArenaBytes else {
            throw fail("\(model): \(workerCount) arena(s) for batches of 1 need \(total(1) == Int.max ? "more than Int.max" : String(total(1))) bytes, above --max-arena-bytes \(maxArenaBytes) (use fewer --threads or raise the limit)")
        }
        return b
    }

    func execute() throws {
        let outputs = [predictions, scores].compactMap { $0 }
        if !outputs.isEmpty {
            try refuseOverwriting(inputs: inputFiles(), with: outputs)
        }
        let fileData = try BoundedFile.contents(of: model, limit: ModelFile.maxFileBytes, what: "model file (.bsm)")
        let file = try parseModelFile(fileData)

        let (data, source) = try testImages.load()

        // The image must outlive the interpreter: keep it in one aligned allocation.
        let imageBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: file.image.count, alignment: 64)
        defer { imageBuffer.deallocate() }
        file.image.withUnsafeBytes { imageBuffer.copyMemory(from: $0) }
        let image = try openImage(UnsafeRawBufferPointer(imageBuffer))
        guard image.operations <= maxOperations else {
            throw fail("\(model): one image needs \(image.operations == Int.max ? "more than Int.max" : String(image.operations)) operations, above --max-operations \(maxOperations)")
        }
        let h = Int(image.header.inputHeight), w = Int(image.header.inputWidth), c = Int(image.header.inputChannels)
        guard (data.height, data.width, data.channels) == (h, w, c) else {
            throw fail("the model takes \(h)x\(w)x\(c) images, \(source) has \(data.height)x\(data.width)x\(data.channels)")
        }
        let classes = Int(image.header.classes)
        if let bad = data.labels.firstIndex(where: { Int($0) >= classes }) {
            throw fail("label \(data.labels[bad]) at index \(testImages.first + bad) of \(testImages.labelsSource) is not below the model's \(classes) classes")
        }
        if let device {
            try runOnDevice(board: device.rawValue, minimal: minimal, file: fileData, image: file.image, data: data, source: source)
            return
        }
        let kernelSet = kernels
        let arenaBytes = Interpreter.arenaBytes(for: image, kernels: kernelSet)
        guard arenaBytes <= maxArenaBytes else {
            throw fail("\(model): the arena needs \(arenaBytes == Int.max ? "more than Int.max" : String(arenaBytes)) bytes for one image with \(kernels.name) kernels, above --max-arena-bytes \(maxArenaBytes)")
        }
        let batch = try throughputBatch(image, kernelSet)

        // The workers (each its own arena and batch interpreter) score every image, then give the throughput.
        let workers = workerCount
        let batchArenaBytes = Interpreter.arenaBytes(for: image, kernels: kernelSet, batch: batch)
        let pool: [InferWorker]
        do throws(InferenceError) {
            pool = try InferWorker.pool(workers, image: UnsafeRawBufferPointer(imageBuffer), kernels: kernelSet, batch: batch,
                                        arenaBytes: batchArenaBytes)
        } catch {
            throw fail("\(model): the batch interpreter (batch \(batch)): \(error.message)")
        }
        var predicted = [Int](repeating: 0, count: data.count)
        // With --scores, every image's scores (the interpreter writes them where it is given a place).
        // (An empty array's buffer may still have a base address: ask the option, not the pointer.)
        let keepsScores = scores != nil
        var scoreValues = [Float](repeating: 0, count: keepsScores ? data.count * classes : 0)
        // The batch-1 interpreter: latency (one image, one thread) and the footprint.
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: arenaBytes, alignment: 16)
        defer { arena.deallocate() }
        let interpreter = try makeInterpreter(UnsafeRawBufferPointer(imageBuffer), arena, kernelSet)
        let (latencyTimes, imagesPerSecond) = data.pixels.withUnsafeBufferPointer { px in
            predicted.withUnsafeMutableBufferPointer { pr in
                scoreValues.withUnsafeMutableBufferPointer { sv in
                    runChunks(pool, batch: batch, pixels: px.baseAddress!, count: data.count, imageSize: data.imageSize,
                              classes: pr.baseAddress!, scores: keepsScores ? sv.baseAddress : nil, classCount: classes)
                }
            }
            if noTiming { return ([Double](), Double?.none) }
            return (latencies(interpreter, pixels: px.baseAddress!, sample: min(data.count, Self.latencySample), imageSize: data.imageSize),
                    Optional(throughput(pool, batch: batch, pixels: px.baseAddress!, count: data.count, imageSize: data.imageSize)))
        }

        var correct = 0
        var perClassTotal = [Int](repeating: 0, count: classes), perClassCorrect = [Int](repeating: 0, count: classes)
        for i in 0..<data.count {
            let label = Int(data.labels[i])
            perClassTotal[label] += 1
            if predicted[i] == label { correct += 1; perClassCorrect[label] += 1 }
        }
        let accuracy = Double(correct) / Double(max(data.count, 1))
        let latency = latencyTimes.isEmpty ? nil : latencyTimes.sorted()[latencyTimes.count / 2]
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakRSS = Int(usage.ru_maxrss) * 1024

        if let predictions {
            try AtomicFile.write(Array(predictionLines(predicted).utf8), to: predictions)
        }
        if let scores {
            try AtomicFile.write(Array(scoreLines(scoreValues, classes: classes).utf8), to: scores)
        }

        let perClass = (0..<classes).map { perClassTotal[$0] == 0 ? 0 : Double(perClassCorrect[$0]) / Double(perClassTotal[$0]) }
        print("\(model) on \(source): \(data.count) images")
        print(String(format: "accuracy %.4f (%d/%d)", accuracy, correct, data.count))
        print("per class: " + perClass.enumerated().map { String(format: "%d:%.3f", $0.offset, $0.element) }.joined(separator: " "))
        if let latency, let imagesPerSecond {
            print(String(format: "latency %.2f µs/image (median, batch 1, %@ kernels); %.0f images/s (batch %d, %d thread(s))",
                         latency, kernels.name, imagesPerSecond, batch, workers))
        } else {
            print("latency and throughput not measured (--no-timing); scored at batch \(batch) on \(workers) thread(s), \(kernels.name) kernels")
        }
        let fp = interpreter.footprint
        print("footprint: file \(fileData.count) B, image \(fp.imageBytes) B, arena \(fp.arenaBytes) B "
              + "(with the \(fp.inputBytes) B input and \(fp.outputBytes) B scores: \(fp.arenaBytes + fp.inputBytes + fp.outputBytes) B), "
              + "peak RSS \(peakRSS) B")
        if profile {
            data.pixels.withUnsafeBufferPointer { px in
                printProfile(batchOne: interpreter, batched: pool[0].interpreter, batch: batch, pixels: px.baseAddress!, count: data.count,
                             imageSize: data.imageSize)
            }
        }
        if json {
            var timing: [String: Any] = [:]
            if let latency, let imagesPerSecond { timing = ["latency_us": latency, "images_per_second": imagesPerSecond] }
            print(try jsonLine(timing.merging([
                "accuracy": accuracy, "correct": correct, "images": data.count, "per_class_accuracy": perClass,
                "threads": workers, "batch": batch,
                "arena_bytes": fp.arenaBytes, "arena_bytes_with_io": fp.arenaBytes + fp.inputBytes + fp.outputBytes,
                "image_bytes": fp.imageBytes, "file_bytes": fileData.count, "peak_rss_bytes": peakRSS,
                "kernels": kernels.name, "model": model, "source": source,
            ]) { $1 }))
        }
    }
}

/// `--device`: the simulated boards the firmware is built for.
enum Board: String, CaseIterable, ExpressibleByArgument {
    case netduinoplus2, microbit
}
