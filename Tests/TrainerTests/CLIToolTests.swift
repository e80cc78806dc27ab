import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Issue 13, the command lines: enumerated options, one exit code per mistake in every tool, the attack
/// settings checked in one place, and colour (idx4) adversarial sets that `infer` scores.
final class CLIToolTests: XCTestCase {
    // Item 1: every closed set of names is an enumerated option: swift-argument-parser refuses a name
    // outside it (exit 64, listing the values) and `--help` lists them. On main `infer --dataset` was a
    // string checked at run time (exit 1) and `train fit --help` listed no values for --dataset or --arch.
    func testEnumeratedOptionsAreCheckedByTheParserAndListedInHelp() throws {
        let none = temporaryDirectory() + "/none", out = temporaryDirectory()
        let fit = ["fit", "--out", out + "/x.safetensors", "--data-dir", none], sweep = ["sweep", "a.safetensors", "--out", out + "/s"]
        let cases: [(String, [String], [String])] = [
            ("train", fit + ["--dataset", "cifar7"], ["--dataset", "'cifar100'"]),
            ("train", fit + ["--arch", "resnet"], ["--arch", "'fcn2'"]),
            ("train", fit + ["--adversarial", "edge"], ["--adversarial", "'pgd'"]),
            ("train", sweep + ["--attacks", "fgsm,bogus"], ["--attacks", "square"]),
            ("train", sweep + ["--eps", "0.1,x"], ["--eps"]),
            ("infer", ["m.bsm", "--dataset", "cifar7", "--data-dir", none], ["--dataset", "'cifar100'"]),
        ]
        for (tool, args, parts) in cases { try expectTool(tool, args, status: 64, mentioning: parts) }
        for (tool, args, values) in [("train", ["fit", "--help"], "values: mnist, fashion-mnist, cifar10, cifar100"),
                                     ("train", ["fit", "--help"], "values: fcn2, fcn1, fcn, conv"),
                                     ("train", ["fit", "--help"], "values: rfgsm, fgsm, pgd"),
                                     ("train", ["sweep", "--help"], "values: fgsm, rfgsm, pgd, transfer, edge, square"),
                                     ("infer", ["--help"], "values: mnist, fashion-mnist, cifar10, cifar100")] {
            let help = try runTool(tool, args).stdout.replacingOccurrences(of: "\n", with: " ")
                .replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
            XCTAssertTrue(help.contains(values), "\(tool) \(args.joined(separator: " ")) lacks '\(values)'")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    // Item 2: the same mistake ends with the same code in every tool (64 bad usage, 1 a file or the work).
    // On main an output path naming a directory was 64 from `train` but 1 from `convert` and `infer`, and a
    // bad --dataset 64 from train but 1 from infer.
    func testTheSameMistakeExitsWithTheSameCodeInEveryTool() throws {
        let none = temporaryDirectory() + "/none", dir = temporaryDirectory()
        let data = try CLIFixtures.mnistCache(), ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1))
        let bsm = dir + "/m.bsm"
        try expectTool("convert", [ck, "-o", bsm], status: 0)
        // An output that is a directory: usage, 64, naming the option.
        try expectTool("train", ["fit", "--arch", "fcn", "--width", "16", "--depth", "1", "--epochs", "1", "--batch-size", "12",
                                 "--data-dir", data, "--out", dir, "--quiet"], status: 64, mentioning: ["--out \(dir) is a directory"])
        try expectTool("convert", [ck, "-o", dir], status: 64, mentioning: ["--output \(dir) is a directory"])
        try expectTool("convert", ["image", bsm, "-o", dir], status: 64, mentioning: ["--output \(dir) is a directory"])
        try expectTool("infer", [bsm, "--data-dir", data, "--predictions", dir], status: 64, mentioning: ["--predictions \(dir) is a directory"])
        // An output under a plain file: usage, 64.
        try expectTool("infer", [bsm, "--data-dir", data, "--predictions", bsm + "/p.txt"], status: 64, mentioning: ["\(bsm) is not a directory"])
        try expectTool("convert", [ck, "-o", bsm + "/m.bsm"], status: 64, mentioning: ["\(bsm) is not a directory"])
        // A data set outside the list: 64 from both tools that take one.
        try expectTool("train", ["fit", "--dataset", "svhn", "--data-dir", none, "--out", dir + "/x.safetensors"], status: 64, mentioning: ["--dataset"])
        try expectTool("infer", [bsm, "--dataset", "svhn"], status: 64, mentioning: ["--dataset"])
        // --limit 0: 64 from every command that takes it.
        for (tool, args) in [("train", ["attack", ck, "--eps", "0.1", "--out", dir + "/adv"]), ("train", ["sweep", ck, "--out", dir + "/s"]),
                             ("infer", [bsm])] {
            try expectTool(tool, args + ["--limit", "0", "--data-dir", data], status: 64, mentioning: ["--limit 0"])
        }
        // A missing input file: a failure, 1, naming it, from every tool.
        let missing = dir + "/missing"
        try expectTool("convert", [missing, "-o", dir + "/n.bsm"], status: 1, mentioning: [missing])
        try expectTool("convert", ["inspect", missing], status: 1, mentioning: [missing])
        try expectTool("infer", [missing, "--data-dir", data], status: 1, mentioning: [missing])
        try expectTool("train", ["attack", missing, "--eps", "0.1", "--out", dir + "/adv", "--data-dir", data], status: 1, mentioning: [missing])
        try expectTool("train", ["fit", "--resume", missing, "--out", dir + "/x.safetensors", "--data-dir", data], status: 1, mentioning: [missing])
        // A missing data set: 1 from both.
        try expectTool("infer", [bsm, "--data-dir", none], status: 1, mentioning: [none])
        try expectTool("train", ["attack", ck, "--eps", "0.1", "--out", dir + "/adv", "--data-dir", none], status: 1, mentioning: [none])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["m.bsm"])
    }

    // Item 2: the attack settings are one option group, checked in one place for `train attack` and
    // `train sweep`: the sweep takes and checks --step-size, --p-init and --no-random-start too (on main
    // they were unknown options there), with the same messages as the attack.
    func testAttackSettingsAreCheckedInOnePlaceForAttackAndSweep() throws {
        let out = temporaryDirectory(), none = out + "/none"
        let commands = [["attack", "missing.safetensors", "--eps", "0.1", "--out", out + "/adv"], ["sweep", "missing.safetensors", "--out", out + "/s"]]
        let bad: [([String], String)] = [(["--step-size", "inf"], "--step-size inf is not a finite number"), (["--p-init", "nan"], "--p-init nan is not a finite number"),
                                         (["--steps", "0"], "--steps 0 is outside 1...100000"), (["--candidates", "0"], "--candidates 0 is outside"),
                                         (["--restarts", "10001"], "--restarts 10001 is outside"), (["--limit=-3"], "--limit -3 must be positive")]
        for command in commands {
            for (args, message) in bad {
                try expectTool("train", command + args + ["--data-dir", none], status: 64, mentioning: [message])
            }
        }
        try expectTool("train", commands[0] + ["--attack", "transfer", "--data-dir", none], status: 64, mentioning: ["--attack transfer needs --source"])
        try expectTool("train", commands[1] + ["--attacks", "fgsm,transfer", "--data-dir", none], status: 64, mentioning: ["--attacks transfer needs --source"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    // Item 2, a neighbour: a sweep naming an attack, a budget or a checkpoint twice is a usage error (64) before
    // anything runs. On main the attack and budget ran every cell twice (exit 0) and the checkpoint was refused
    // by the library (exit 1).
    func testASweepNamingTheSameCellTwiceIsBadUsage() throws {
        let data = try CLIFixtures.mnistCache(), ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1), epochs: 0)
        let out = temporaryDirectory(), link = out + "/link.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ck)
        let sweep = ["sweep", "--out", out + "/s", "--data-dir", data, "--quiet"]
        try expectTool("train", sweep + [ck, "--attacks", "fgsm, pgd,fgsm", "--eps", "0.1"], status: 64, mentioning: ["--attacks names fgsm twice"])
        try expectTool("train", sweep + [ck, "--attacks", "fgsm", "--eps", "0.1,0.2,0.1"], status: 64, mentioning: ["--eps names 0.1 twice"])
        try expectTool("train", sweep + [ck, link, "--attacks", "fgsm", "--eps", "0.1"], status: 64, mentioning: ["\(link) is \(ck) given again"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["link.safetensors"])
    }

    // Item 3: on colour data `train attack` writes idx4; its --json named an idx3 file that did not exist, and
    // `infer --images` refused the idx4 file (expected magic 0x803), so the runtime cross-check never ran on
    // CIFAR. Now the JSON names the file written, `infer` reads it as HxWxC, and it scores the stored images
    // exactly as the trainer did; a sweep's cross-check runs and agrees.
    func testColourAdversarialSetsAreNamedAndScoredByTheRuntime() throws {
        let data = try CLIFixtures.cifarCache()
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 32, width: 32, channels: 3), dataset: "cifar10")
        let stem = String(ck.dropLast(".safetensors".count)), dir = temporaryDirectory()
        try expectTool("convert", [ck, "-o", stem + ".bsm"], status: 0)
        let attack = try expectTool("train", ["attack", ck, "--attack", "fgsm", "--eps", "0.1", "--out", dir + "/adv", "--data-dir", data,
                                              "--quiet", "--json"], status: 0)
        let summary = try lastJSONLine(attack.stdout)
        XCTAssertEqual(summary["images_file"] as? String, dir + "/adv-images-idx4-ubyte")
        XCTAssertTrue(attack.stdout.contains("wrote \(dir)/adv-images-idx4-ubyte"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["adv-images-idx4-ubyte", "adv-labels-idx1-ubyte"])
        let infer = try expectTool("infer", [stem + ".bsm", "--images", dir + "/adv-images-idx4-ubyte", "--labels", dir + "/adv-labels-idx1-ubyte",
                                             "--json"], status: 0)
        let scored = try lastJSONLine(infer.stdout)
        XCTAssertEqual(scored["images"] as? Int, 12)
        XCTAssertEqual(scored["accuracy"] as? Double, summary["robust_accuracy"] as? Double)
        // The sweep finds the .bsm beside the checkpoint and `infer` beside `train`.
        try expectTool("train", ["sweep", ck, "--attacks", "fgsm", "--eps", "0.1", "--out", dir + "/s", "--data-dir", data, "--quiet"], status: 0)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/s.json"))) as? [String: Any])
        let cell = try XCTUnwrap((report["cells"] as? [[String: Any]])?.first)
        XCTAssertEqual(cell["runtime_disagreements"] as? Int, 0, "\(cell)")
        XCTAssertEqual(cell["runtime_accuracy"] as? Double, cell["robust_accuracy"] as? Double)
    }
}
