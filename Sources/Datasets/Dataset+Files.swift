import Foundation

extension Dataset {
    /// Every file in this data set's cache directory (`dataDirectory/directoryName`): what a tool that
    /// loads the data set reads, for `FileIdentity.requireDistinct` (an output must never be one of them).
    /// Empty when the directory does not exist.
    public func files(dataDirectory: String) -> [String] {
        let dir = dataDirectory + "/" + directoryName
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return entries.sorted().map { dir + "/" + $0 }
    }
}
