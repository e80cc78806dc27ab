import ArgumentParser

/// `convert image --c-array NAME`: the model image as C source, for firmware that links the model into
/// flash instead of loading it (TensorFlow Lite Micro's users run `xxd -i` for this). The array is
/// 64-byte aligned, the alignment of every part inside the image (spec/FORMAT.md), so the runtime
/// reads it in place; its length is a separate `const size_t`. The text names the source file and the
/// image's SHA-256, so a firmware build can be traced to the model it carries.
enum CArraySource {
    /// Words the C source cannot use as the array's name: C23's keywords (C11's, with their `_Alignas`
    /// spellings), and the type names the source itself uses (`const uint8_t int[...]` does not compile).
    static let reservedNames: Set<String> = [
        "alignas", "alignof", "auto", "bool", "break", "case", "char", "const", "constexpr", "continue", "default", "do",
        "double", "else", "enum", "extern", "false", "float", "for", "goto", "if", "inline", "int", "long", "nullptr",
        "register", "restrict", "return", "short", "signed", "sizeof", "static", "static_assert", "struct", "switch",
        "thread_local", "true", "typedef", "typeof", "typeof_unqual", "union", "unsigned", "void", "volatile", "while",
        "_Alignas", "_Alignof", "_Atomic", "_BitInt", "_Bool", "_Complex", "_Decimal128", "_Decimal32", "_Decimal64",
        "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local", "asm",
        "uint8_t", "size_t",
    ]

    /// Refuses (exit 64) a name that is not a C identifier of at most 63 characters, or is a keyword, a
    /// type the source names, or reserved to the implementation (`__x`, `_X`: C11 7.1.3).
    static func checkIdentifier(_ name: String) throws {
        if reservedNames.contains(name) || name.hasPrefix("__") || (name.hasPrefix("_") && name.dropFirst().first?.isUppercase == true) {
            throw ValidationError("--c-array '\(name)' is a C keyword, a type the source uses, or reserved to the C implementation (__x, _X): choose another name")
        }
        let chars = Array(name.utf8)
        func letter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        func digit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        guard let first = chars.first, letter(first), chars.allSatisfy({ letter($0) || digit($0) }), chars.count <= 63 else {
            throw ValidationError("--c-array '\(name)' is not a C identifier (letters, digits and _, not starting with a digit, at most 63)")
        }
    }

    /// `text` with every byte that is not printable ASCII, and `*` and `/` (which could end the comment),
    /// replaced by `_`.
    static func commentSafe(_ text: String) -> String {
        String(decoding: text.utf8.map { (32...126).contains($0) && $0 != 42 && $0 != 47 ? $0 : 95 }, as: UTF8.self)
    }

    /// The C source: a comment, the aligned array (16 bytes a line) and its length.
    static func render(_ image: [UInt8], name: String, sha256: String, from source: String) -> String {
        let digits = Array("0123456789abcdef")
        var out = """
        /* BitShield model image (spec/FORMAT.md) of \(commentSafe(source)),
           written by `convert image --c-array \(name)`: \(image.count) bytes, SHA-256 \(sha256).
           Pass \(name) and \(name)_len to the runtime as the model image; it is read in place. */
        #include <stddef.h>
        #include <stdint.h>

        _Alignas(64) const uint8_t \(name)[\(image.count)] = {

        """
        out.reserveCapacity(out.utf8.count + image.count * 6 + 64)
        for start in stride(from: 0, to: image.count, by: 16) {
            out += "   "
            for b in image[start..<min(start + 16, image.count)] {
                out += " 0x"
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
                out += ","
            }
            out += "\n"
        }
        out += "};\nconst size_t \(name)_len = \(image.count);\n"
        return out
    }
}
