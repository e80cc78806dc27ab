import Datasets
import Foundation

// Checkpoint metadata values (`model`, `training`, `progress`) are JSON decoded with `JSONDecoder`. Its
// errors do not always say where: a number that does not fit its field (`"seed": -1` for a UInt64,
// `"learning_rate": 1e300` for a Float) comes back as "The given data was not valid JSON", with no
// path and no value. So a failed decode is explained here: a type mismatch or missing key by its path
// and the value found there, and an unrepresentable number by finding it, replacing each number of the
// document in turn by 0 (which every numeric type holds) until the decode succeeds. The search runs on
// small documents only (ours are a few hundred bytes), so a hostile one cannot make it quadratic.

extension Checkpoint {
    /// Largest metadata value, in bytes, that a failed decode searches for its bad number.
    static let explainedBytes = 65_536
    /// Most numbers tried by that search.
    static let explainedNumbers = 256

    /// Decodes `T` from `json`, the metadata value of `key`; the error names the key path and the value.
    static func decodeMetadata<T: Decodable>(_ type: T.Type, key: String, json: String,
                                             fail: (String) -> TrainerError) throws(TrainerError) -> T {
        do { return try decoder().decode(T.self, from: Data(json.utf8)) } catch {
            throw fail("metadata '\(key)' is not valid: " + explain(error, decoding: T.self, json: json))
        }
    }

    /// One step of a path into a JSON document: an object key or an array index.
    enum PathStep: CustomStringConvertible {
        case key(String), index(Int)
        var description: String {
            switch self {
            case .key(let k): return k
            case .index(let i): return "[\(i)]"
            }
        }
    }

    /// Why `json` did not decode as `T`, as precisely as can be found.
    static func explain<T: Decodable>(_ error: Error, decoding: T.Type, json: String) -> String {
        guard let tree = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) else {
            return "it is not valid JSON"
        }
        if let e = error as? DecodingError {
            switch e {
            case .keyNotFound(let k, let c):
                return "key '\(show((c.codingPath + [k]).map(step)))' is missing"
            case .typeMismatch(let t, let c), .valueNotFound(let t, let c) where !c.codingPath.isEmpty:
                let path = c.codingPath.map(step)
                let found = value(in: tree, at: path[...]).map(text) ?? "null"
                return "'\(show(path))' is \(found), not of type \(t)"
            default: break
            }
        }
        guard json.utf8.count <= explainedBytes else { return "\(error)" }
        for path in numberPaths(tree).prefix(explainedNumbers) {
            let patched = replacing(tree, at: path[...], with: 0)
            guard let data = try? JSONSerialization.data(withJSONObject: patched, options: [.fragmentsAllowed]),
                  (try? decoder().decode(T.self, from: data)) != nil else { continue }
            let found = value(in: tree, at: path[...]).map(text) ?? "?"
            return "'\(show(path))' is \(found), which its field cannot hold (out of range or not a whole number)"
        }
        return "\(error)"
    }

    /// A decoder's coding key as a step of the document (the decoder reports camelCase names; the
    /// metadata is written in snake_case).
    private static func step(_ key: CodingKey) -> PathStep {
        if let i = key.intValue { return .index(i) }
        var snake = ""
        for c in key.stringValue {
            if c.isUppercase { snake += "_" + c.lowercased() } else { snake.append(c) }
        }
        return .key(snake)
    }

    private static func show(_ path: [PathStep]) -> String {
        path.map(\.description).joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func text(_ v: Any) -> String {
        if let s = v as? String { return "\"\(s)\"" }
        if v is NSNull { return "null" }
        // Foundation hands `true` back as an NSNumber that prints as 1 (JSONValue).
        if let b = JSONValue.bool(v) { return "\(b)" }
        return "\(v)"
    }

    /// The paths of every number in `node`, in document order (keys sorted).
    private static func numberPaths(_ node: Any, _ prefix: [PathStep] = []) -> [[PathStep]] {
        if let o = node as? [String: Any] {
            return o.keys.sorted().flatMap { numberPaths(o[$0]!, prefix + [.key($0)]) }
        }
        if let a = node as? [Any] {
            return a.enumerated().flatMap { numberPaths($1, prefix + [.index($0)]) }
        }
        if node is NSNumber { return [prefix] }   // a boolean too: replacing it fails to decode, harmlessly
        return []
    }

    private static func value(in node: Any, at path: ArraySlice<PathStep>) -> Any? {
        guard let step = path.first else { return node }
        switch step {
        case .key(let k): return (node as? [String: Any])?[k].flatMap { value(in: $0, at: path.dropFirst()) }
        case .index(let i):
            guard let a = node as? [Any], a.indices.contains(i) else { return nil }
            return value(in: a[i], at: path.dropFirst())
        }
    }

    private static func replacing(_ node: Any, at path: ArraySlice<PathStep>, with new: Any) -> Any {
        guard let step = path.first else { return new }
        switch step {
        case .key(let k):
            guard var o = node as? [String: Any], let child = o[k] else { return node }
            o[k] = replacing(child, at: path.dropFirst(), with: new)
            return o
        case .index(let i):
            guard var a = node as? [Any], a.indices.contains(i) else { return node }
            a[i] = replacing(a[i], at: path.dropFirst(), with: new)
            return a
        }
    }
}
