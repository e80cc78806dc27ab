import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Item 6 of issue 13: the help and output of `convert`, `infer`, `train attack` and `train sweep` (and the help of
/// `train fit`) as golden text (Tests/Golden/*.txt; GoldenText.swift says how to regenerate them). The model is the seeded initial
/// weights of an 8x8, one hidden layer of 16 binary network on 24 seeded images: the bits are fixed, and the
/// whole class runs in a few seconds.
final class CLIGoldenTests: XCTestCase {
    func testHelp() throws {
        for (name, tool, args) in [("convert-help", "convert", ["--help"]), ("convert-export-help", "convert", ["export", "--help"]),
                                   ("convert-inspect-help", "convert", ["inspect", "--help"]), ("convert-image-help", "convert", ["image", "--help"]),
                                   ("infer-help", "infer", ["--help"]), ("train-attack-help", "train", ["attack", "--help"]), ("train-fit-help", "train", ["fit", "--help"]),
                                   ("train-sweep-help", "train", ["sweep", "--help"]), ("verify-help", "verify", ["--help"])] {
            try assertGolden(name, tool, args)
        }
    }

    func testOutputs() throws {
        let data = try CLIFixtures.mnistCache()
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1), epochs: 0)
        let stem = String(ck.dropLast(".safetensors".count)), dir = temporaryDirectory()
        try assertGolden("convert-export", "convert", [ck, "-o", stem + ".bsm"])
        try assertGolden("convert-inspect", "convert", ["inspect", stem + ".bsm"])
        try assertGolden("convert-image", "convert", ["image", stem + ".bsm", "-o", dir + "/model.img"])
        try assertGolden("infer", "infer", [stem + ".bsm", "--data-dir", data, "--json"])
        for (attack, extra) in [("fgsm", [String]()), ("pgd", ["--steps", "5", "--restarts", "2"]), ("edge", ["--steps", "3", "--rounds", "2"]),
                                ("square", ["--queries", "20"])] {
            try assertGolden("train-attack-\(attack)", "train", ["attack", ck, "--attack", attack, "--eps", "0.2", "--out", dir + "/\(attack)",
                                                                 "--data-dir", data, "--quiet", "--json"] + extra)
        }
        try assertGolden("infer-adversarial", "infer", [stem + ".bsm", "--images", dir + "/pgd-images-idx3-ubyte",
                                                        "--labels", dir + "/pgd-labels-idx1-ubyte", "--predictions", dir + "/p.txt", "--json"])
        try assertGolden("train-sweep", "train", ["sweep", ck, "--attacks", "fgsm,pgd", "--eps", "0.1,0.3", "--steps", "5", "--out", dir + "/sweep",
                                                  "--data-dir", data, "--certify", "--quiet", "--json"])
    }

    /// `verify` on the committed fixture model (784-64-64-10 binary, 2-bit input) and the first MNIST test
    /// images at a budget of 5 pixel units: every verdict and node count is deterministic.
    func testVerifyOutput() throws {
        let model = temporaryDirectory() + "/fixture.bsm"   // a temporary path: masked in the golden text
        try FileManager.default.copyItem(atPath: Fixture.binaryBits8, toPath: model)
        try assertGolden("verify", "verify", [model, "--eps", "0.02", "--dataset", "mnist", "--limit", "8", "--timeout", "20"])
    }

    /// The error path: one message, the same exit code for the same mistake in every tool (ToolError).
    func testErrors() throws {
        let data = try CLIFixtures.mnistCache(), dir = temporaryDirectory()
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1), epochs: 0)
        try assertGolden("error-infer-dataset", "infer", ["model.bsm", "--dataset", "svhn"], status: 64)
        try assertGolden("error-convert-output-directory", "convert", [ck, "-o", dir], status: 64)
        try assertGolden("error-infer-missing-model", "infer", [dir + "/missing.bsm", "--data-dir", data], status: 1)
        try assertGolden("error-train-sweep-twice", "train", ["sweep", ck, "--attacks", "pgd,fgsm,pgd", "--out", dir + "/s"], status: 64)
        try assertGolden("error-train-attack-missing-data", "train", ["attack", ck, "--eps", "0.1", "--out", dir + "/adv", "--data-dir", dir],
                         status: 1)
    }
}
