// swift-tools-version:6.0
// BitShield: adversarially robust, binarized neural networks for edge hardware.
// Module boundaries and who may import whom: ARCHITECTURE.md and DEVELOPERS.md.
import PackageDescription

let package = Package(
    name: "BitShield",
    products: [
        .library(name: "ModelFormat", targets: ["ModelFormat"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "DevicePayload", targets: ["DevicePayload"]),
        .library(name: "ModelFile", targets: ["ModelFile"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Trainer", targets: ["Trainer"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "convert", targets: ["convert"]),
        .executable(name: "infer", targets: ["infer"]),
        .library(name: "Verification", targets: ["Verification"]),
        .executable(name: "verify", targets: ["verify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (make deps installs them).
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // CaDiCaL's C API (a static library without pkg-config; the module map links it and libstdc++).
        .systemLibrary(name: "CCaDiCaL", path: "Sources/CCaDiCaL", providers: [.apt(["libcadical-dev"])]),

        // The model image: ids, layout, bit packing, validating reader and writer (spec/FORMAT.md).
        // Standard library only, so it builds in Embedded Swift.
        .target(name: "ModelFormat"),

        // A strict RFC 8259 pull reader (no document tree, O(depth) memory); standard library only.
        // Internal to the package: the safetensors and .bsm metadata readers parse with it.
        .target(name: "JSONReader"),

        // The .bsm container around the image: header, metadata, zlib, CRC-32, SHA-256 (host only).
        .target(name: "ModelFile", dependencies: ["ModelFormat", "CZlib", "JSONReader"]),

        // The allocation-free runtime: interpreter, arena plan, reference and optimized kernels.
        // ModelFormat only: no Foundation, builds in Embedded Swift.
        .target(name: "Inference", dependencies: ["ModelFormat"]),

        // The device payload's layout (header + model image + test images), written by `infer --device` and
        // read by the firmware, which compiles the same files (scripts/build-firmware.sh). Standard library only.
        .target(name: "DevicePayload"),

        // The C API (include/bitshield.h) over Inference: @_cdecl exports, Embedded-clean. `make lib`
        // (scripts/build-lib.sh) compiles the same files into libbitshield.a per target; here for tests.
        .target(name: "BitShieldC", dependencies: ["Inference", "ModelFormat"], path: "Embedding/CAPI"),

        // IDX (MNIST, Fashion-MNIST) readers and the data cache; shared by the trainer and tools.
        .target(name: "Datasets", dependencies: ["CZlib"]),

        // Tensors, layers with forward/backward, quantizers, optimizers, training, checkpoints.
        // -fno-math-errno: without it Float.squareRoot() keeps a libm fallback call per lane and the
        // optimizer's SIMD loop never vectorizes (Optimizer.adamStep); the trainer never reads errno.
        .target(
            name: "Trainer", dependencies: ["Datasets", "JSONReader", "ModelFormat", "ModelFile", "CBLAS"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-fno-math-errno"])]),

        // Command-line tools, and what all three share: one error type and exit path, output-path checks,
        // comma-separated list options, one-line JSON.
        .target(
            name: "CLISupport",
            dependencies: ["Datasets", "Inference", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "train",
            dependencies: [
                "Trainer", "Datasets", "CLISupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "convert",
            dependencies: [
                "Trainer", "ModelFile", "ModelFormat", "Inference", "CLISupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "infer",
            dependencies: [
                "Inference", "ModelFile", "ModelFormat", "Datasets", "CLISupport", "DevicePayload",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Certified robustness of binary models: bound propagation and branch and bound over the free
        // pixels, or a SAT encoding solved by CaDiCaL (docs/VERIFY.md). Reads the image through ModelFormat;
        // never the trainer.
        .target(name: "Verification", dependencies: ["ModelFormat", "CCaDiCaL"]),
        .executableTarget(
            name: "verify",
            dependencies: [
                "Verification", "Inference", "ModelFile", "ModelFormat", "Datasets", "CLISupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Test support: running the built tools (train, convert, infer) from tests, shared by test targets.
        .target(name: "ToolSupport", path: "Tests/ToolSupport"),
        // Test support: model images at and past the format's limits, shared by two test targets.
        .target(name: "ImageFixtures", dependencies: ["ModelFormat"], path: "Tests/ImageFixtures"),
        .testTarget(name: "ModelFormatTests", dependencies: ["ModelFormat", "ModelFile", "ImageFixtures"]),
        // Test support: counts mallocs (interposed) to prove invoke() allocates nothing.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "ModelFormat", "ModelFile", "Trainer", "Datasets", "CAllocationCounter", "ImageFixtures", "ToolSupport",
                           "DevicePayload", "BitShieldC"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "CAllocationCounter"]),
        .testTarget(name: "JSONReaderTests", dependencies: ["JSONReader"]),
        // Test support: Z3's C API, the second solver VerificationTests compare the verifier with.
        .systemLibrary(name: "CZ3", path: "Tests/CZ3", providers: [.apt(["libz3-dev"])]),
        .testTarget(
            name: "VerificationTests",
            dependencies: ["Verification", "Inference", "ModelFormat", "ModelFile", "Datasets", "ToolSupport", "CZ3"]),
        .testTarget(name: "TrainerTests", dependencies: ["Trainer", "Datasets", "CAllocationCounter", "ToolSupport"]),
    ]
)
