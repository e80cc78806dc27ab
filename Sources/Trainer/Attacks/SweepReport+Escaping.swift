import Foundation

// Escaping for the sweep's reports (issue 12, item 14). Model names are file stems, and the journal,
// checkpoint metadata and error notes are read from files: any of them may hold markup. Every string
// that goes into a report passes through the one function for its format here. JSON needs none: the
// JSON report and the journal are written by JSONSerialization and JSONEncoder, which escape strings.

/// One escaping function per report format.
enum ReportEscaping {
    /// XML character data and attribute values (SVG): `& < > " '` as entities, and characters XML 1.0
    /// cannot hold (controls other than tab, newline, carriage return; lone surrogates cannot occur in a
    /// Swift String) as U+FFFD.
    static func xml(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += "&#\(scalar.value);"
            default:
                let v = scalar.value
                if v < 0x20 || v == 0xFFFE || v == 0xFFFF { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// A Markdown table cell or inline text: one line (line breaks and other controls become spaces),
    /// HTML's `& < >` as entities (Markdown passes raw HTML through), and Markdown's punctuation
    /// `\ | ` * _ [ ]` backslash-escaped so it neither ends the cell nor starts emphasis, code or a link.
    /// (A cell never starts a line, so `#`, `-` and `>` cannot start a block.)
    static func markdown(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\\", "|", "`", "*", "_", "[", "]":
                out += "\\"
                out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += " "
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A link destination in Markdown (the report's own SVG file name): percent-encoded, so spaces,
    /// parentheses and markup cannot end or change the link.
    static func markdownLink(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A CSV field per RFC 4180: quoted when it holds a comma, a double quote, CR or LF (quotes doubled);
    /// as is otherwise.
    static func csv(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
