import ArgumentParser

/// An option that takes a comma-separated list of values (`--attacks fgsm,pgd`, `--eps 0.1,0.2`), each
/// parsed as `Element` parses one: an unknown name or a bad number is swift-argument-parser's usage error
/// (exit 64), whose message and `--help` list `Element`'s values. Spaces around a value are ignored;
/// an empty list is refused.
public struct CommaSeparated<Element: ExpressibleByArgument>: ExpressibleByArgument {
    /// The values, in the order given.
    public var values: [Element]

    public init(_ values: [Element]) { self.values = values }

    public init?(argument: String) {
        var values: [Element] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            var text = part
            while text.first == " " { text.removeFirst() }
            while text.last == " " { text.removeLast() }
            guard let value = Element(argument: String(text)) else { return nil }
            values.append(value)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    public var defaultValueDescription: String { values.map(\.defaultValueDescription).joined(separator: ",") }

    public static var allValueStrings: [String] { Element.allValueStrings }
}

extension CommaSeparated where Element: Equatable {
    /// The first value given twice (`--attacks fgsm,fgsm` would run the same cells twice), or nil.
    public var duplicate: Element? {
        values.indices.first { i in values[..<i].contains(values[i]) }.map { values[$0] }
    }
}
