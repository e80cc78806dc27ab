import JSONReader

/// A JSON document as a small tree, read with the project's strict `JSONReader` (RFC 8259, bounded
/// depth). Unlike Foundation's reader it refuses a key given twice in one object (which one would win is
/// not a question an experiment file should leave open) and keeps numbers as written.
/// Experiment grids are a few kilobytes; `ExperimentGrid.maxFileBytes` bounds the input before this runs.
indirect enum GridValue {
    case object([(key: String, value: GridValue)])
    case array([GridValue])
    case string(String)
    case number(JSONNumber)
    case bool(Bool)
    case null

    /// The one value `bytes` hold; `problem` receives the reader's complaint (with its byte offset) or the
    /// duplicated key with the path of its object.
    static func parse(_ bytes: [UInt8]) throws(GridValueError) -> GridValue {
        let result = bytes.withUnsafeBytes { raw -> Result<GridValue, GridValueError> in
            var reader = JSONReader(raw, maxDepth: 16)
            do throws(GridValueError) {
                guard let first = try next(&reader) else { throw GridValueError(path: "", problem: "the file is empty") }
                let value = try read(first, &reader, path: "")
                if try next(&reader) != nil { throw GridValueError(path: "", problem: "more after the document") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The reader's next token; its complaint (with the byte offset) as a `GridValueError`.
    private static func next(_ reader: inout JSONReader) throws(GridValueError) -> JSONToken? {
        do { return try reader.next() } catch { throw GridValueError(path: "", problem: "not JSON: \(error.description)") }
    }

    private static func read(_ token: JSONToken, _ reader: inout JSONReader, path: String) throws(GridValueError) -> GridValue {
        switch token {
        case .beginObject:
            var members: [(key: String, value: GridValue)] = []
            while let t = try next(&reader) {
                if case .endObject = t { return .object(members) }
                guard case let .key(key) = t else { break }
                let child = path.isEmpty ? key : path + "." + key
                if members.contains(where: { $0.key == key }) {
                    throw GridValueError(path: child, problem: "the key is given twice in one object")
                }
                guard let value = try next(&reader) else { break }
                members.append((key, try read(value, &reader, path: child)))
            }
        case .beginArray:
            var items: [GridValue] = []
            while let t = try next(&reader) {
                if case .endArray = t { return .array(items) }
                items.append(try read(t, &reader, path: "\(path)[\(items.count)]"))
            }
        case let .string(s): return .string(s)
        case let .number(n): return .number(n)
        case let .bool(b): return .bool(b)
        case .null: return .null
        case .endObject, .endArray, .key: break
        }
        throw GridValueError(path: path, problem: "the document ends inside this value")
    }

    /// What a person calls this kind of value, for error messages.
    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A problem found while reading a grid file's JSON: `path` is the key path (`cells[3].training`).
struct GridValueError: Error {
    var path: String
    var problem: String
}
