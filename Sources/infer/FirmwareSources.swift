import Datasets
import Foundation
import ModelFile

/// The firmware's source hash over a source tree, by the rule in Firmware/sources.list (the one
/// statement of it; scripts/firmware-source-hash.sh is the build's side): SHA-256 of
/// "bitshield-firmware-sources 1\nboard=BOARD\n" and one line "<hex SHA-256>  <path>\n" per regular
/// file under the listed paths, sorted bytewise by path, hidden names (".") skipped, links not followed.
enum FirmwareSources {
    /// The file naming the paths, relative to the tree.
    static let listPath = "Firmware/sources.list"

    /// The paths `Firmware/sources.list` names (comments after `#` and blank lines dropped).
    static func listedPaths(root: String) throws(DeviceError) -> [String] {
        let text: [UInt8]
        do { text = try BoundedFile.contents(of: root + "/" + listPath, limit: 64 * 1024, what: "firmware source list") } catch {
            throw .unreadable(error.description)
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { line in
            let kept = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let path = String(kept).trimmingCharacters(in: .whitespaces)
            return path.isEmpty ? nil : path
        }
    }

    /// The regular files under `paths` (relative to `root`), sorted bytewise.
    static func files(root: String, paths: [String]) throws(DeviceError) -> [String] {
        let fm = FileManager.default
        func type(_ relative: String) -> FileAttributeType? {
            (try? fm.attributesOfItem(atPath: root + "/" + relative))?[.type] as? FileAttributeType   // lstat: links not followed
        }
        var found: [String] = []
        for path in paths {
            switch type(path) {
            case .typeRegular?: found.append(path)
            case .typeDirectory?:
                guard let walk = fm.enumerator(atPath: root + "/" + path) else { throw .unreadable("cannot list \(root)/\(path)") }
                while let sub = walk.nextObject() as? String {
                    let name = path + "/" + sub
                    if sub.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
                    if type(name) == .typeRegular { found.append(name) }
                }
            case nil: throw .unreadable("\(root)/\(path) (listed in \(listPath)) does not exist")
            default: continue
            }
        }
        return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The source hash of the firmware for `board` built from the tree at `root`, lowercase hex.
    static func hash(root: String, board: String) throws(DeviceError) -> String {
        var manifest = Array("bitshield-firmware-sources 1\nboard=\(board)\n".utf8)
        for file in try files(root: root, paths: listedPaths(root: root)) {
            let bytes: [UInt8]
            do { bytes = try BoundedFile.contents(of: root + "/" + file, limit: 1 << 30, what: "firmware source") } catch {
                throw .unreadable(error.description)
            }
            manifest += Array("\(hex(SHA256.hash(bytes)))  \(file)\n".utf8)
        }
        return hex(SHA256.hash(manifest))
    }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
