import Foundation
import ToolSupport
import XCTest

/// `convert image --c-array NAME` (issue 14, item 3): C source that a C compiler turns back into exactly the
/// bytes `convert image` writes, 64-byte aligned; a name that is not a C identifier is bad usage.
final class CArrayTests: XCTestCase {
    func testTheCArrayCompilesToTheImageBytesAligned() throws {
        let cc = "/usr/bin/cc"
        guard FileManager.default.isExecutableFile(atPath: cc) else { throw XCTSkip("no C compiler at \(cc)") }
        let dir = temporaryDirectory()
        let raw = try runTool("convert", ["image", Fixture.binaryColumns32, "-o", dir + "/model.img"])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let source = try runTool("convert", ["image", Fixture.binaryColumns32, "-o", dir + "/model.c", "--c-array", "bitshield_model"])
        XCTAssertEqual(source.status, 0, source.stderr)
        XCTAssertTrue(source.stdout.contains("C array bitshield_model["), source.stdout)
        // A C program that writes the array to stdout and fails if it is not 64-byte aligned.
        try """
        #include <stdint.h>
        #include <stdio.h>
        extern const uint8_t bitshield_model[];
        extern const size_t bitshield_model_len;
        int main(void) {
            fwrite(bitshield_model, 1, bitshield_model_len, stdout);
            return ((uintptr_t)bitshield_model % 64) != 0;
        }
        """.write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        let build = try runTool(cc, ["-std=c11", "-Wall", "-Werror", "-o", dir + "/dump", dir + "/main.c", dir + "/model.c"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: dir + "/dump")
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "the array is not 64-byte aligned")
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: dir + "/model.img")), "the C array is not the image")
    }

    func testANameThatIsNotACIdentifierIsBadUsage() throws {
        let dir = temporaryDirectory()
        for name in ["9lives", "model-image", "", "a b", String(repeating: "x", count: 64)] {
            let r = try runTool("convert", ["image", Fixture.binaryBits8, "-o", dir + "/m.c", "--c-array", name])
            XCTAssertEqual(r.status, 64, "--c-array '\(name)': \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("not a C identifier"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.c"))
        }
    }

    /// A name that is an identifier but not one the source can declare: `int`, `_Alignas` or `uint8_t` gave
    /// exit 0 and C that no compiler takes; `__x` and `_X` are the implementation's. Bad usage now.
    func testAKeywordTypeOrReservedNameIsBadUsage() throws {
        let dir = temporaryDirectory()
        for name in ["int", "_Alignas", "uint8_t", "size_t", "static", "__model", "_Model"] {
            let r = try runTool("convert", ["image", Fixture.binaryBits8, "-o", dir + "/m.c", "--c-array", name])
            XCTAssertEqual(r.status, 64, "--c-array '\(name)': \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("is a C keyword"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.c"))
        }
        XCTAssertEqual(try runTool("convert", ["image", Fixture.binaryBits8, "-o", dir + "/m.c", "--c-array", "_model_1"]).status, 0)
    }
}
