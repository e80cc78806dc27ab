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
    }

    /// Bytes per image: 32 x 32 x 3.
    public static let imageBytes = 3072

    /// Parses the records of one or more files (concatenated in order); `paths` name them in errors.
    public static func parse(_ files: [(path: String, bytes: [UInt8])], variant: Variant) throws(DatasetError) -> ImageSet {
        let record = variant.labelBytes + imageBytes
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for (path, bytes) in files {
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                let whole = (bytes.count / record + 1) * record
                throw .truncated(path: path, expectedBytes: bytes.isEmpty ? record : whole, actualBytes: bytes.count)
            }
            let n = bytes.count / record
            pixels.reserveCapacity(pixels.count + n * imageBytes)
            for i in 0..<n {
                let base = i * record
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

    /// Reads the standard files of a split from `directory` (the folder the official archive unpacks to).
    public static func load(_ variant: Variant, split: Dataset.Split, directory: String) throws(DatasetError) -> ImageSet {
        let names: [String]
        switch (variant, split) {
        case (.cifar10, .train): names = (1...5).map { "data_batch_\($0).bin" }
        case (.cifar10, .test): names = ["test_batch.bin"]
        case (.cifar100, .train): names = ["train.bin"]
        case (.cifar100, .test): names = ["test.bin"]
        }
        var files: [(path: String, bytes: [UInt8])] = []
        for name in names {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .missingFile(path: path, fetchHint: "no package ships CIFAR: unpack your copy of the binary version there, or pass --data-dir")
            }
            files.append((path, [UInt8](data)))
        }
        return try parse(files, variant: variant)
    }
}
