import Foundation
import ToolSupport
import XCTest

/// The C API's examples against the host Swift runtime (scripts/check-c-examples.sh): examples/c-host
/// (gcc, the x86-64 libbitshield.a) on 2,000 MNIST test images and examples/c-firmware (C only,
/// arm-none-eabi-gcc + newlib, the armv7em libbitshield.a, the model as C source) under QEMU
/// netduinoplus2 on 100 (the full library and the minimal one), both with the committed columns32
/// fixture, and the ternary fixture (format version 5) on the host and the minimal firmware; every class
/// must equal `infer --predictions`. The minimal firmware must refuse the bits8
/// fixture at init with BITSHIELD_E_LAYOUT_NOT_BUILT, which the host library words as the
/// `convert --target mcu` command. Also links a C program against the aarch64 Linux library when the cross
/// compiler is installed. Skips when gcc, arm-none-eabi-gcc, qemu-system-arm or the MNIST data are
/// absent, unless BITSHIELD_REQUIRE_DEVICE is set (`make test`), which makes that a failure.
final class CExampleTests: XCTestCase {
    var root: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path }

    func testCExamplesAgreeWithTheSwiftRuntimeImageForImage() throws {
        let env = ProcessInfo.processInfo.environment
        let path = (env["PATH"] ?? "").split(separator: ":")
        let missing = ["gcc", "arm-none-eabi-gcc", "qemu-system-arm", "python3"].filter { tool in
            !path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        if !missing.isEmpty {
            let why = "\(missing.joined(separator: ", ")) not found: run `make lib` and `make device`"
            if env["BITSHIELD_REQUIRE_DEVICE"] != nil { XCTFail(why + " (BITSHIELD_REQUIRE_DEVICE is set)") }
            throw XCTSkip(why + " (BITSHIELD_REQUIRE_DEVICE=1 makes this a failure)")
        }
        let bin = Bundle.main.bundleURL.path
        let r = try runTool(root + "/scripts/check-c-examples.sh", [bin + "/convert", bin + "/infer"])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        XCTAssertTrue(r.stdout.contains("examples/c-host (x86-64): 2000 of 2000"), r.stdout)
        XCTAssertTrue(r.stdout.contains("examples/c-firmware (QEMU netduinoplus2, armv7em): 100 of 100"), r.stdout)
        XCTAssertTrue(r.stdout.contains("examples/c-firmware (QEMU netduinoplus2, armv7em-minimal): 100 of 100"), r.stdout)
        // A ternary model (format version 5) through the same library, host and minimal firmware.
        XCTAssertTrue(r.stdout.contains("examples/c-host (x86-64), ternary fixture: 2000 of 2000"), r.stdout)
        XCTAssertTrue(r.stdout.contains("examples/c-firmware (QEMU netduinoplus2, armv7em-minimal), ternary fixture: 100 of 100"), r.stdout)
        XCTAssertTrue(r.stdout.contains("examples/c-host refuses a flipped byte, a cut IDX file and a 40-byte model"), r.stdout)
        // Item 4: the minimal build refuses a bits8 model at init; the host formats the code as the command to run.
        XCTAssertTrue(r.stdout.contains("minimal firmware refuses the bits8 fixture: 'error: code=26 values=1,5,2'"), r.stdout)
        XCTAssertTrue(r.stdout.contains("convert MODEL.safetensors --layout columns32 -o MODEL.bsm"), r.stdout)
        print(r.stdout)
    }
}
