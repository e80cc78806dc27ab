import Foundation

/// The CIFAR-10 / CIFAR-100 binary format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
/// fixed-size records, each
///
///     u8  label            CIFAR-10: class 0..9
///     u8  coarse, fine     CIFAR-100 instead: coarse class 0..19, then fine class 0..99 (we use fine)
///     u8  red[1024]        32x32, row-major
///     u8  green[1024]
///     u8  blue[1024]
///
/// Planes are converted to BitShield's channels-last layout (32x32x3) on reading.
public enum CIFARBinary {
    /// Which variant.
    public enum Variant: Sendable {
        /// 10 classes, one label byte.
        case cifar10
        /// 100 fine classes, two label bytes (coarse, fine).
        case cifar100

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        var classes: Int { self == .cifar10 ? 10 : 100 }
        /// Bytes per record: labels, then the image.
        var recordBytes: Int { labelBytes + CIFARBinary.imageBytes }
    }

    /// Bytes per image: 32 x 32 x 3.
    public static let imageBytes = 3072
    /// CIFAR-100's coarse classes (the first label byte of its records, checked but not used).
    public static let coarseClasses = 20
    /// Most records read in one call: as many images as IDX's payload limit holds (1,398,101; the
    /// official sets have 60,000).
    public static let maxRecords = IDXFile.maxPayloadBytes / imageBytes

    /// Checks a file of `size` bytes holds whole records, and that `total` records so far stay under
    /// `maxRecords`; returns the file's record count. Called on sizes before anything is read.
    static func records(path: String, size: Int, variant: Variant, total: Int) throws(DatasetError) -> Int {
        let record = variant.recordBytes
        guard size > 0, size % record == 0 else {
            let whole = (size / record + 1) * record
            throw .truncated(path: path, expectedBytes: size == 0 ? record : whole, actualBytes: size)
        }
        let n = size / record
        guard n <= maxRecords - total else {
            throw .tooLarge(path: path, dimensions: [total + n, 32, 32, 3], bytes: (total + n) * imageBytes,
                            limit: maxRecords * imageBytes)
        }
        return n
    }

    /// Parses the records of one or more files (concatenated in order); `paths` name them in errors.
    /// Sizes are checked before the pixels are allocated; labels (CIFAR-100: coarse < 20 and fine < 100)
    /// before each is used.
    public static func parse(_ files: [(path: String, bytes: [UInt8])], variant: Variant) throws(DatasetError) -> ImageSet {
        let record = variant.recordBytes
        var counts: [Int] = []
        for (path, bytes) in files {
            counts.append(try records(path: path, size: bytes.count, variant: variant, total: counts.reduce(0, +)))
        }
        let total = counts.reduce(0, +)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        pixels.reserveCapacity(total * imageBytes)
        labels.reserveCapacity(total)
        for ((path, bytes), n) in zip(files, counts) {
            for i in 0..<n {
                let base = i * record
                if variant == .cifar100, Int(bytes[base]) >= coarseClasses {
                    throw .labelOutOfRange(path: path, index: i, label: Int(bytes[base]), classes: coarseClasses)
                }
                let label = Int(bytes[base + variant.labelBytes - 1])
                guard label < variant.classes else {
                    throw .labelOutOfRange(path: path, index: i, label: label, classes: variant.classes)
                }
                labels.append(UInt8(label))
                let image = base + variant.labelBytes
                for p in 0..<1024 {
                    pixels.append(bytes[image + p])
                    pixels.append(bytes[image + 1024 + p])
                    pixels.append(bytes[image + 2048 + p])
                }
            }
        }
        return try ImageSet(height: 32, width: 32, channels: 3, classes: variant.classes, pixels: pixels, labels: labels)
    }

    /// The standard files of a split, in reading order (names in the archive's folder).
    public static func fileNames(_ variant: Variant, split: Dataset.Split) -> [String] {
        switch (variant, split) {
        case (.cifar10, .train): return (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): return ["test_batch.bin"]
        case (.cifar100, .train): return ["train.bin"]
        case (.cifar100, .test): return ["test.bin"]
        }
    }

    /// Reads the standard files of a split from `directory` (the folder the official archive unpacks to).
    public static func load(_ variant: Variant, split: Dataset.Split, directory: String) throws(DatasetError) -> ImageSet {
        let names = fileNames(variant, split: split)
        // Every size is checked (whole records, the record cap over all files) before anything is read.
        var total = 0, sizes: [Int] = []
        for name in names {
            let path = directory + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                throw .missingFile(path: path, fetchHint: "no package ships CIFAR: unpack your copy of the binary version there, or pass --data-dir")
            }
            sizes.append(try FileKind.regularSize(path))
            total += try records(path: path, size: sizes.last!, variant: variant, total: total)
        }
        var files: [(path: String, bytes: [UInt8])] = []
        for (name, size) in zip(names, sizes) {
            let path = directory + "/" + name
            // Read to the size checked above, no further (a file that grew since is refused).
            files.append((path, try BoundedFile.contents(of: path, limit: size, what: "CIFAR batch of \(size) bytes")))
        }
        return try parse(files, variant: variant)
    }
}
