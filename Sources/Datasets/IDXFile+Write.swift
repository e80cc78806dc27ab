/// Writing IDX files: atomically, and only after the bytes read back with `IDXFile.parse` (issue 12, item 11).
extension IDXFile {
    /// Writes the encoded file to `path` through `AtomicFile`, checking it with the IDX reader first.
    public func write(to path: String) throws(DatasetError) {
        let rank = dimensions.count
        try AtomicFile.write(encoded(), to: path) { bytes in
            do throws(DatasetError) {
                _ = try IDXFile.parse(bytes, expectedDims: rank, path: path)
                return nil
            } catch {
                return error.description
            }
        }
    }
}
