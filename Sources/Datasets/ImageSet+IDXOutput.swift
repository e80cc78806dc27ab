// Image sets as IDX files (the format MNIST ships in): what `train attack` and `train sweep` write and
// `infer --images` reads back (`IDXLoader.loadPair`: idx3 grey, idx4 colour), both in this module.

extension ImageSet {
    /// The IDX pair `writeIDX(prefix:)` writes: images (idx3, or idx4 with channels), then labels.
    public func idxPaths(prefix: String) -> [String] {
        [prefix + (channels == 1 ? "-images-idx3-ubyte" : "-images-idx4-ubyte"), prefix + "-labels-idx1-ubyte"]
    }

    /// Writes the set as an IDX pair `prefix-images-idx3-ubyte` and `prefix-labels-idx1-ubyte`, atomically,
    /// each checked with the IDX reader before it is renamed into place.
    public func writeIDX(prefix: String) throws(DatasetError) {
        let dims = channels == 1 ? [count, height, width] : [count, height, width, channels]
        let paths = idxPaths(prefix: prefix)
        try IDXFile(dimensions: dims, bytes: pixels).write(to: paths[0])
        try IDXFile(dimensions: [count], bytes: labels).write(to: paths[1])
    }
}
