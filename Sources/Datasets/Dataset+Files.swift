import Foundation

extension Dataset {
    /// What a tool that loads this data set reads, for `FileIdentity.requireDistinct` (an output must never
    /// be one of them): every file in its cache directory (`dataDirectory/directoryName`), and every name
    /// its loader would open there, existing or not, in both spellings of an IDX file (NAME and NAME.gz:
    /// the loader prefers NAME, so an output written as the raw name of a gzipped file would shadow it).
    public func files(dataDirectory: String) -> [String] {
        let dir = dataDirectory + "/" + directoryName
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var names = Set(entries)
        for split in [Split.train, .test] {
            for name in fileNames(split) {
                names.insert(name)
                if self == .mnist || self == .fashionMNIST { names.insert(name + ".gz") }
            }
        }
        return names.sorted().map { dir + "/" + $0 }
    }
}
