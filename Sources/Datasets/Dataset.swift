import Foundation

/// The data sets the tools know by name, and how to load their IDX files from the cache.
public enum Dataset: String, CaseIterable, Sendable {
    /// MNIST handwritten digits (28x28 grey, 10 classes). `make data` fetches it.
    case mnist
    /// Fashion-MNIST (28x28 grey, 10 classes). `make data` links Debian's copy.
    case fashionMNIST = "fashion-mnist"
    /// CIFAR-10 binary version (32x32 colour, 10 classes), in `cifar-10-batches-bin/`; the user's own copy.
    case cifar10
    /// CIFAR-100 binary version (32x32 colour, 100 fine classes), in `cifar-100-binary/`; the user's own copy.
    case cifar100

    /// Which split of a data set.
    public enum Split: String, Sendable { case train, test }

    /// The subdirectory of the cache holding this data set.
    public var directoryName: String {
        switch self {
        case .mnist, .fashionMNIST: return rawValue
        case .cifar10: return "cifar-10-batches-bin"
        case .cifar100: return "cifar-100-binary"
        }
    }

    /// Looks a data set up by its command-line name.
    public static func named(_ name: String) throws(DatasetError) -> Dataset {
        guard let d = Dataset(rawValue: name) else {
            throw .unknownDataset(name: name, known: allCases.map(\.rawValue))
        }
        return d
    }

    /// Loads one split from `dataDirectory` (see `DataDirectory`), accepting `.gz` or raw IDX files.
    public func load(_ split: Split, dataDirectory: String) throws(DatasetError) -> ImageSet {
        switch self {
        case .cifar10: return try CIFARBinary.load(.cifar10, split: split, directory: dataDirectory + "/" + directoryName)
        case .cifar100: return try CIFARBinary.load(.cifar100, split: split, directory: dataDirectory + "/" + directoryName)
        case .mnist, .fashionMNIST: break
        }
        let names = fileNames(split), dir = dataDirectory + "/" + directoryName
        return try IDXLoader.loadPair(images: dir + "/" + names[0], labels: dir + "/" + names[1],
                                      classes: 10, fetchHint: "run 'make data' to fetch it")
    }

    /// The files `load` reads for a split, in this data set's directory: the IDX images and labels (each
    /// as its raw name; the loader takes NAME, else NAME.gz), or CIFAR's batches.
    public func fileNames(_ split: Split) -> [String] {
        switch self {
        case .cifar10: return CIFARBinary.fileNames(.cifar10, split: split)
        case .cifar100: return CIFARBinary.fileNames(.cifar100, split: split)
        case .mnist, .fashionMNIST:
            let prefix = split == .train ? "train" : "t10k"
            return ["\(prefix)-images-idx3-ubyte", "\(prefix)-labels-idx1-ubyte"]
        }
    }
}

/// Reads IDX image/label pairs from disk, gzip or raw.
public enum IDXLoader {
    /// Loads `images` and `labels`; each path is tried as given, then with `.gz`. The images are idx3
    /// (count x height x width, grey) or idx4 (count x height x width x channels, NHWC: what
    /// `ImageSet.writeIDX` writes for colour sets). Both headers are read and their counts compared
    /// before either payload is read or inflated (IDXReader).
    public static func loadPair(images: String, labels: String, classes: Int,
                                fetchHint: String = "check the path") throws(DatasetError) -> ImageSet {
        try pair(images: IDXReader(path: images, acceptedDims: 3...4, fetchHint: fetchHint),
                 labels: IDXReader(path: labels, expectedDims: 1, fetchHint: fetchHint), classes: classes)
    }

    /// Reads an opened image/label pair: counts compared from the headers, then the labels, then the
    /// images (ImageSet checks every label against `classes`). Images of three dimensions are grey, of four
    /// NHWC with the last as channels.
    public static func pair(images img: IDXReader, labels lab: IDXReader, classes: Int) throws(DatasetError) -> ImageSet {
        guard img.dimensions[0] == lab.dimensions[0] else {
            throw .countMismatch(images: img.dimensions[0], labels: lab.dimensions[0])
        }
        let labelBytes = try lab.readPayload()
        let channels = img.dimensions.count == 4 ? img.dimensions[3] : 1
        return try ImageSet(height: img.dimensions[1], width: img.dimensions[2], channels: channels, classes: classes,
                            pixels: img.readPayload(), labels: labelBytes, labelPath: lab.path)
    }
}
