import ArgumentParser
import Datasets

/// The test images a scoring tool reads (`infer`, `verify`): a data set's test split from the data cache,
/// or an IDX pair such as an adversarial set that `train attack` wrote, and at most `--limit` of them.
/// One place for the options, their checks (64 on a bad combination), the files they read (which no
/// output may overwrite) and the loading.
public struct TestImageOptions: ParsableArguments {
    @Option(help: "Data set whose test split to use (default mnist).")
    public var dataset: Dataset?

    @Option(help: "Data cache directory (default: $BITSHIELD_DATA, else ~/.cache/bitshield/data).")
    public var dataDir: String?

    @Option(help: "An IDX images file (gzip or raw; idx3 grey, or idx4 colour: count x height x width x channels), e.g. an adversarial set; needs --labels.")
    public var images: String?

    @Option(help: "The IDX labels file for --images.")
    public var labels: String?

    @Option(help: "Skip the first N images (default 0): with --limit, images N ..< N + limit, one shard of a test set per job (a Slurm array task). Image indices in messages, journals and outputs stay those of the whole set.")
    public var skip: Int?

    @Option(help: "Use only the first N images (after --skip).")
    public var limit: Int?

    public init() {}

    public func validate() throws {
        if images != nil || labels != nil {
            guard images != nil, labels != nil else { throw ValidationError("--images and --labels go together") }
            guard dataset == nil else { throw ValidationError("give --dataset or --images/--labels, not both") }
        }
        try requirePositive("--limit", limit)
        if let skip, skip < 0 { throw ValidationError("--skip \(skip) must be 0 or more") }
    }

    /// The index in the whole set of the first image `load` returns (`--skip`).
    public var first: Int { skip ?? 0 }

    /// Where the labels come from (the --labels file, or the data set's test split), for messages about a label.
    public var labelsSource: String { labels ?? "\(resolvedDataset.rawValue) test set" }

    /// The data set the images come from when no IDX pair is given.
    public var resolvedDataset: Dataset { dataset ?? .mnist }

    /// Every file loading may open (each IDX file and its .gz twin, or the data set's files).
    public func files() -> [String] {
        TestImageOptions.files(images: images, labels: labels, dataset: resolvedDataset, dataDir: dataDir)
    }

    /// Loads the images (at most `limit`) and names their source for messages and reports.
    public func load() throws -> (images: ImageSet, source: String) {
        let (all, source) = try TestImageOptions.load(images: images, labels: labels, dataset: resolvedDataset, dataDir: dataDir, limit: nil, classes: 256)
        guard first < all.count else {
            throw ToolError.failure("--skip \(first) leaves none of the \(all.count) images of \(source)")
        }
        return (all.dropFirst(first).prefix(limit), source)
    }

    /// The rule for a tool whose options differ (`train eval` takes its data set from the checkpoint): the IDX
    /// pair when given, else `dataset`'s files in the data cache.
    public static func files(images: String?, labels: String?, dataset: Dataset, dataDir: String?) -> [String] {
        if let images, let labels { return [images, images + ".gz", labels, labels + ".gz"] }
        return dataset.files(dataDirectory: DataDirectory.resolve(explicit: dataDir))
    }

    /// Loads the IDX pair (labels below `classes`) or `dataset`'s test split, at most `limit` images, and
    /// names the source.
    public static func load(images: String?, labels: String?, dataset: Dataset, dataDir: String?, limit: Int?,
                            classes: Int) throws -> (images: ImageSet, source: String) {
        if let images, let labels {
            return (try IDXLoader.loadPair(images: images, labels: labels, classes: classes).prefix(limit), images)
        }
        return (try dataset.load(.test, dataDirectory: DataDirectory.resolve(explicit: dataDir)).prefix(limit), "\(dataset.rawValue) test set")
    }
}
