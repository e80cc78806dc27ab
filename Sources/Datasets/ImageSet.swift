/// A labelled set of 8-bit images, channels last (height x width x channels per image, NHWC).
public struct ImageSet: Sendable {
    /// Number of images.
    public let count: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Channels per pixel (1 for MNIST).
    public let channels: Int
    /// Number of classes; every label is below it.
    public let classes: Int
    /// `count * height * width * channels` pixels, image after image.
    public let pixels: [UInt8]
    /// One label per image.
    public let labels: [UInt8]

    /// Pixels per image.
    public var imageSize: Int { height * width * channels }

    /// Builds a set, checking sizes and every label.
    /// - Throws: `countMismatch` or `labelOutOfRange`.
    public init(height: Int, width: Int, channels: Int = 1, classes: Int,
                pixels: [UInt8], labels: [UInt8], labelPath: String = "labels") throws(DatasetError) {
        let size = height * width * channels
        guard size > 0, pixels.count % size == 0 else {
            throw .badShape(path: labelPath, dimensions: [pixels.count, height, width, channels])
        }
        guard pixels.count / size == labels.count else {
            throw .countMismatch(images: pixels.count / size, labels: labels.count)
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw .labelOutOfRange(path: labelPath, index: bad, label: Int(labels[bad]), classes: classes)
        }
        self.count = labels.count
        self.height = height
        self.width = width
        self.channels = channels
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
    }

    /// The set without its first `n` images, 0 <= n < count (a set is never empty).
    public func dropFirst(_ n: Int) -> ImageSet {
        precondition((0..<count).contains(n), "dropFirst(\(n)) of \(count) images")
        guard n > 0 else { return self }
        return try! ImageSet(height: height, width: width, channels: channels, classes: classes,
                             pixels: Array(pixels[(n * imageSize)...]), labels: Array(labels[n...]))
    }

    /// The first `n` images (all of them when `n` is nil or larger than the set).
    public func prefix(_ n: Int?) -> ImageSet {
        guard let n, n < count else { return self }
        // Sizes and labels were checked when `self` was built.
        return try! ImageSet(height: height, width: width, channels: channels, classes: classes,
                             pixels: Array(pixels[0..<(n * imageSize)]), labels: Array(labels[0..<n]))
    }
}
