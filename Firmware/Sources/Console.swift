// Line-buffered text output over semihosting, with decimal numbers, and no String formatting on the
// success path (String interpolation allocates; the firmware only allocates to format an error).

/// Builds a line in the C line buffer and writes it to the host's stdout.
struct Console {
    static let capacity = 128
    private let buffer: UnsafeMutablePointer<UInt8> = fw_line_buffer()
    private var count = 0

    /// Appends the bytes of a static string.
    mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { put(byte: b) } }
    }

    /// Appends the UTF-8 bytes of a string (the error path).
    mutating func put(string s: String) {
        for b in s.utf8 { put(byte: b) }
    }

    /// Appends one byte, flushing when the buffer is full.
    mutating func put(byte b: UInt8) {
        if count == Console.capacity { flush() }
        buffer[count] = b
        count += 1
    }

    /// Appends `n` in decimal.
    mutating func put(_ n: Int) {
        if n < 0 { put(byte: UInt8(ascii: "-")) }
        var v = n.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                k += 1
            } while v != 0
            while k > 0 { k -= 1; put(byte: d[k]) }
        }
    }

    /// Appends ` key=value`.
    mutating func field(_ key: StaticString, _ value: Int) {
        put(" ")
        put(key)
        put("=")
        put(value)
    }

    /// Writes what is buffered.
    mutating func flush() {
        fw_write(buffer, UInt32(count))
        count = 0
    }

    /// Ends the line and writes it.
    mutating func line() {
        put(byte: 10)
        flush()
    }
}
