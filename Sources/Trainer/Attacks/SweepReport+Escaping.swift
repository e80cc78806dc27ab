import Foundation

// Escaping for the sweep's reports (issue 12, item 14). Model names are file stems, and the journal,
// checkpoint metadata and error notes are read from files: any of them may hold markup. Every string
// that goes into a report passes through the one function for its format here. JSON needs none: the
// JSON report and the journal are written by JSONSerialization and JSONEncoder, which escape strings.

/// One escaping function per report format.
public enum ReportEscaping {
    /// XML character data and attribute values (SVG): `& < > " '` as entities, and characters XML 1.0
    /// cannot hold (controls other than tab, newline, carriage return; lone surrogates cannot occur in a
    /// Swift String) as U+FFFD.
    static func xml(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            if let entity = markupEntity(scalar) { out += entity; continue }
            switch scalar {
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
            if let entity = markupEntity(scalar) { out += entity; continue }
            switch scalar {
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

    /// The entity of `& < >`, the characters that start or end markup in both XML and HTML (which
    /// Markdown passes through), or nil.
    static func markupEntity(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "&": return "&amp;"
        case "<": return "&lt;"
        case ">": return "&gt;"
        default: return nil
        }
    }

    /// A link destination in Markdown (the report's own SVG file name): percent-encoded, so spaces,
    /// parentheses and markup cannot end or change the link.
    static func markdownLink(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A text CSV field (a name, a note: never a number): as `csv`, after a leading `= + - @`, tab or CR
    /// is neutralized with a `'` (OWASP's rule against formula injection: a spreadsheet would evaluate
    /// `=HYPERLINK(...)` in a model name).
    static func csvText(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return csv(s) }
        return csv("'" + s)
    }

    /// Text for a terminal (the sweep's progress and summary lines): control characters (C0, DEL, C1),
    /// which could move the cursor, rewrite earlier lines or set a window title, become U+FFFD.
    public static func terminal(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// A CSV field per RFC 4180: quoted when it holds a comma, a double quote, CR or LF (quotes doubled);
    /// as is otherwise.
    static func csv(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
