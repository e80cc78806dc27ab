import Foundation

/// Numbers and booleans out of what `JSONSerialization` returns, by their JSON type.
///
/// Foundation hands JSON numbers and `true`/`false` back alike as `NSNumber`, and its bridging converts
/// between them: `true as? Int` is 1, `1 as? Bool` is true, `true as? Double` is 1.0. A file that says
/// `"format": true` or `"images": true` where a number belongs is refused by every reader of a JSON file
/// (start.json, options.json, the grid's results, verify's output), so they all read values through these.
public enum JSONValue {
    /// True for a JSON `true`/`false` (an `NSNumber` of type char or bool, or a Swift `Bool`).
    public static func isBoolean(_ value: Any?) -> Bool {
        if value is Bool && !(value is Int) && !(value is Double) { return true }
        guard let n = value as? NSNumber else { return false }
        let type = String(cString: n.objCType)
        return type == "c" || type == "B"
    }

    /// The value as an `Int` when it is a JSON number with an integer value (not a boolean, a string,
    /// a fraction or out of range); nil otherwise.
    public static func integer(_ value: Any?) -> Int? {
        guard let value, !isBoolean(value) else { return nil }
        return value as? Int
    }

    /// The value as a `Double` when it is a JSON number (not a boolean or a string); nil otherwise.
    public static func double(_ value: Any?) -> Double? {
        guard let value, !isBoolean(value) else { return nil }
        return value as? Double
    }

    /// The value when it is a JSON `true` or `false` (not the numbers 1 or 0); nil otherwise.
    public static func bool(_ value: Any?) -> Bool? {
        guard isBoolean(value) else { return nil }
        return value as? Bool
    }
}
