// A PGD run kept on disk for an edge attack to start from (issue 18 item 4): `train sweep --save-start DIR`
// writes it after its PGD cell, `train sweep --edge-start DIR` starts its edge cell from it instead of
// re-running the same PGD (a grid's fewer-bit edge job starts from its PGD job, GridJobs.swift). The edge
// attack's result is bit-identical to one that crafts its own start, its gradient counts included
// (EdgeAttack+GivenStart.swift), so the stored run must be exactly that start: the directory holds, beside
// the images, where they came from (`EdgeStart.Origin`), and a start whose origin differs in anything
// (model bytes, eps, seed, PGD settings or revision, the attacked images, batch size) is refused, naming it.
//
//     DIR/pgd-images-idx3-ubyte (idx4 for colour sets), DIR/pgd-labels-idx1-ubyte   the stored adversarial set
//     DIR/start.json                                                                 the origin and gradient counts, written last
import Datasets
import Foundation
import ModelFile

extension EdgeStart {
    /// What a stored PGD run was crafted from and with. Two runs of equal origins store the same images.
    public struct Origin: Equatable, Sendable {
        /// SHA-256 (hex) of the checkpoint file attacked.
        public var modelSHA256: String
        /// `pgd r<revision>`: the algorithm.
        public var attack: String
        /// PGD's settings: steps, restarts, random start, FGSM candidate, loss, gradient and step size.
        public var settings: String
        /// The budget as written (`0.1`).
        public var epsilon: String
        public var seed: UInt64
        /// The attacked images: the first `images` of the test set, from index `firstImage`, and SHA-256
        /// (hex) over their pixels and then their labels.
        public var firstImage: Int
        public var images: Int
        public var imagesSHA256: String
        /// The attack's batch size (each batch's random stream is its index).
        public var batchSize: Int

        /// The origin of PGD run `config` (or, for an edge attack, its start `config.edgeStart`) on `data`,
        /// the first `data.count` test images, of the checkpoint whose SHA-256 is `modelSHA256`.
        public init(config: AttackConfig, modelSHA256: String, data: ImageSet, batchSize: Int = Attacker.defaultBatchSize) {
            let pgd = config.kind == .edge ? config.edgeStart : config
            self.modelSHA256 = modelSHA256
            attack = "\(pgd.kind.rawValue) r\(pgd.kind.revision)"
            // The summary ends with ` step=S` when a step size was given (the text start files have always held).
            settings = pgd.settingsSummary + (pgd.stepSize == nil ? " step=auto" : "")
            epsilon = "\(pgd.epsilon)"
            seed = pgd.seed
            firstImage = 0
            images = data.count
            imagesSHA256 = SHA256.hex(SHA256.hash(data.pixels + data.labels))
            self.batchSize = batchSize
        }

        /// The fields in the order they are compared, each with its name in a refusal and its text.
        var fields: [(name: String, value: String)] {
            [("model (checkpoint SHA-256)", modelSHA256), ("eps", epsilon), ("seed", "\(seed)"), ("attack", attack),
             ("PGD settings", settings), ("first image", "\(firstImage)"), ("image count", "\(images)"),
             ("attacked images (SHA-256 of pixels and labels)", imagesSHA256), ("batch size", "\(batchSize)")]
        }

        /// JSON keys, in `fields`' order.
        static let keys = ["model_sha256", "eps", "seed", "attack", "settings", "first_image", "images", "images_sha256", "batch_size"]
    }

    /// The start file inside a stored run's directory (written last: a directory without it holds no run).
    public static func startFile(_ directory: String) -> String { directory + "/start.json" }

    /// The IDX pair's prefix inside a stored run's directory.
    static func imagesPrefix(_ directory: String) -> String { directory + "/pgd" }

    /// Every file a stored run in `directory` may consist of (a sweep's inputs or outputs).
    public static func files(in directory: String) -> [String] {
        let p = imagesPrefix(directory)
        return [startFile(directory), p + "-images-idx3-ubyte", p + "-images-idx4-ubyte", p + "-labels-idx1-ubyte"]
    }

    /// Writes the PGD run `result`, of origin `origin`, into `directory` (created): the images, then
    /// `start.json` atomically, so an interrupted save leaves no start.
    public static func save(_ result: AttackResult, origin: Origin, to directory: String) throws(TrainerError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch { throw .io(path: directory, reason: "cannot create the start directory: \(error)") }
        try? FileManager.default.removeItem(atPath: startFile(directory))
        do { try result.images.writeIDX(prefix: imagesPrefix(directory)) } catch { throw .dataset(error) }
        var o: [String: Any] = ["format": 1, "gradient_zeros": result.gradientZeros, "gradient_entries": result.gradientEntries]
        for (key, field) in zip(Origin.keys, origin.fields) { o[key] = field.value }
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        do { try AtomicFile.write(Array(data) + [0x0A], to: startFile(directory)) } catch { throw .dataset(error) }
    }

    /// The stored run in `directory` when its origin is `origin`; refuses any other (`.startMismatch`, naming
    /// the first field that differs, both values), a malformed start file, and images whose IDX header
    /// does not declare `origin.images` images of `shape` (checked before the payload is read), and gradient counts
    /// outside 0 <= zeros <= entries <= 2^53 (`gradientCountsProblem`). The images'
    /// labels, shape and ball are checked again by the attack (`Attacker.check`).
    public static func load(from directory: String, origin: Origin, shape: (height: Int, width: Int, channels: Int),
                            classes: Int) throws(TrainerError) -> EdgeStart {
        let path = startFile(directory)
        let o = try startObject(path)
        for (key, field) in zip(Origin.keys, origin.fields) {
            guard let stored = o[key] as? String else { throw .io(path: path, reason: "'\(key)' is missing or not a string") }
            guard stored == field.value else { throw .startMismatch(path: path, field: field.name, stored: stored, expected: field.value) }
        }
        guard let zeros = JSONValue.integer(o["gradient_zeros"]), let entries = JSONValue.integer(o["gradient_entries"]) else {
            throw .io(path: path, reason: "'gradient_zeros' or 'gradient_entries' is missing or not an integer")
        }
        if let problem = gradientCountsProblem(zeros: zeros, entries: entries) { throw .io(path: path, reason: problem) }
        let prefix = imagesPrefix(directory)
        let dims = shape.channels == 1 ? [origin.images, shape.height, shape.width] : [origin.images, shape.height, shape.width, shape.channels]
        let names = shape.channels == 1 ? ["-images-idx3-ubyte", "-labels-idx1-ubyte"] : ["-images-idx4-ubyte", "-labels-idx1-ubyte"]
        do {
            let images = try IDXReader(path: prefix + names[0], expectedDims: dims.count, fetchHint: "the start is incomplete; rerun its PGD job")
            guard images.dimensions == dims else {
                throw TrainerError.startMismatch(path: images.path, field: "stored image set",
                                                 stored: images.dimensions.map(String.init).joined(separator: "x"),
                                                 expected: dims.map(String.init).joined(separator: "x"))
            }
            let labels = try IDXReader(path: prefix + names[1], expectedDims: 1, fetchHint: "the start is incomplete; rerun its PGD job")
            let set = try IDXLoader.pair(images: images, labels: labels, classes: classes)
            return EdgeStart(images: set, gradientZeros: zeros, gradientEntries: entries)
        } catch let e as TrainerError {
            throw e
        } catch let e as DatasetError {
            throw .dataset(e)
        } catch {
            throw .io(path: prefix, reason: "\(error)")
        }
    }

    /// Whether `directory` holds a stored run of origin `origin` (its start file names it; the images are
    /// checked when it is loaded).
    public static func isStored(in directory: String, origin: Origin) -> Bool {
        guard let o = try? startObject(startFile(directory)) else { return false }
        return zip(Origin.keys, origin.fields).allSatisfy { o[$0.0] as? String == $0.1.value }
    }

    /// The start file as a JSON object of format 1 (bounded read).
    static func startObject(_ path: String) throws(TrainerError) -> [String: Any] {
        let bytes: [UInt8]
        do { bytes = try BoundedFile.contents(of: path, limit: 1 << 16, what: "edge start") } catch { throw .dataset(error) }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .io(path: path, reason: "not a JSON object")
        }
        guard JSONValue.integer(o["format"]) == 1 else { throw .io(path: path, reason: "format \(o["format"].map { "\($0)" } ?? "missing"), expected 1") }
        return o
    }
}
