import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `train reproduce` end to end on a tiny grid (issue 18, items 2 and 3): three cells over two tiny
/// models (8 wide, one hidden layer, a 300-image data set) and three attack cells, one of them shared.
final class ReproduceToolTests: XCTestCase {
    static let tinyGrid = #"""
    {"format": 1, "name": "tiny", "attack_settings": {"steps": 2},
     "cells": [
      {"id": "a", "table": "T", "row": "BNN-2b", "paper_net": "fcn2",
       "training": {"dataset": "mnist", "arch": "fcn", "width": 8, "depth": 1, "precision": "binary", "input_bits": 2, "epochs": 2, "batch_size": 50},
       "attacks": ["fgsm"], "eps": [0.2], "paper": {"clean": 96.4, "robust": [60.7]}},
      {"id": "b", "table": "T", "row": "BNN-2b again", "paper_net": "fcn2",
       "training": {"dataset": "mnist", "arch": "fcn", "width": 8, "depth": 1, "precision": "binary", "input_bits": 2, "epochs": 2, "batch_size": 50},
       "attacks": ["fgsm", "pgd"], "eps": [0.2], "paper": {"robust": [null]}},
      {"id": "c", "table": "U", "row": "Full-8b", "paper_net": "fcn2",
       "training": {"dataset": "mnist", "arch": "fcn", "width": 8, "depth": 1, "precision": "float", "input_bits": 8, "epochs": 1, "batch_size": 50},
       "attacks": ["fgsm"], "eps": ["51/255"], "paper": {"robust": [38.5]}}
     ]}
    """#

    var cache = ""
    var gridPath = ""

    override func setUpWithError() throws {
        cache = try TestData.tinyMNISTCache()
        gridPath = temporaryDirectory() + "/tiny.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: gridPath, contents: Data(Self.tinyGrid.utf8)))
    }

    func reproduce(_ out: String, _ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try runTool("train", ["reproduce", gridPath, "--out", out, "--data-dir", cache, "--limit", "40"] + extra, file: file, line: line)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr, file: file, line: line)
        return r.stdout
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    func testSharedModelTrainedOnceResumeSkipsDoneJobsAndResultsEqualAFreshRun() throws {
        let out = temporaryDirectory()
        let first = try reproduce(out, ["--jobs", "2", "--json"])
        XCTAssertTrue(first.contains("3 cells, 2 models, 3 attack cells; 0 jobs finished before, 5 to run, 2 at once"), first)
        let json = try lastJSONLine(first)
        XCTAssertEqual(json["attack_jobs_finished"] as? Int, 3)
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        let plan = try store.readPlan()
        XCTAssertEqual(plan.models.count, 2, "cells a and b share their model")
        XCTAssertEqual(plan.cells[0].attackJobs[0], plan.cells[1].attackJobs[0], "and their fgsm cell")
        for m in plan.models { XCTAssertTrue(FileManager.default.fileExists(atPath: store.modelFile(m.id)), "converted model") }
        let results = try XCTUnwrap(bytes(out + "/results.json"))
        let markdown = String(decoding: try XCTUnwrap(bytes(out + "/results.md")), as: UTF8.self)
        XCTAssertTrue(markdown.contains("| BNN-2b | fcn 8x1 mnist\\* | fgsm | 96.4 / "), markdown)

        // Rerun: nothing is redone; a deleted result is the one job run again, to the same bytes.
        let again = try reproduce(out)
        XCTAssertTrue(again.contains("5 jobs finished before, 0 to run"), again)
        let marker = store.marker(.attack, plan.attacks[2].id)
        let before = try XCTUnwrap(bytes(marker))
        try FileManager.default.removeItem(atPath: marker)
        let third = try reproduce(out)
        XCTAssertTrue(third.contains("4 jobs finished before, 1 to run"), third)
        XCTAssertEqual(bytes(marker), before)
        XCTAssertEqual(bytes(out + "/results.json"), results)

        // A fresh directory, one job at a time, where the binary model was stopped after its first epoch:
        // it resumes from that checkpoint, and every number equals the first run's.
        let fresh = temporaryDirectory()
        let emitted = try runTool("train", ["reproduce", gridPath, "--out", fresh, "--data-dir", cache, "--limit", "40",
                                            "--emit", "slurm", fresh + "/slurm"])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let binary = try XCTUnwrap(plan.models.first { $0.arguments.contains("binary") })
        let args = try GridStore(root: FileIdentity.canonicalPath(fresh)).readJob(.model, binary.id).arguments
        let partial = try runTool("train", ["fit"] + args + ["--stop-after", "1", "--out", fresh + "/models/\(binary.id)/model.safetensors", "--data-dir", cache, "--quiet"])
        XCTAssertEqual(partial.status, 0, partial.stderr)
        _ = try reproduce(fresh, ["--jobs", "1"])
        let log = String(decoding: try XCTUnwrap(bytes(fresh + "/logs/model-\(binary.id).log")), as: UTF8.self)
        XCTAssertTrue(log.contains("resuming from") && log.contains("epoch 2/2") && !log.contains("epoch 1/2"), log)
        XCTAssertEqual(bytes(fresh + "/results.json"), results, "a resumed model and a fresh one give the same numbers")
    }

    /// Issue 18, item 4: part of a grid by cell glob and job kind (`--cells U --only models`, then
    /// `--only attacks`), each job's CPU seconds in its log; `collect --to DIR --costs` writes the paper's
    /// tables there with the unrun cells pending, and the cost table; bad globs and a file as DIR are usage errors.
    func testPartialRunsByCellAndKindCollectElsewhereWithCosts() throws {
        let out = temporaryDirectory()
        let models = try reproduce(out, ["--cells", "U", "--only", "models"])
        XCTAssertTrue(models.contains("0 jobs finished before, 1 to run"), models)
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        let plan = try store.readPlan()
        let c = try XCTUnwrap(plan.cells.first { $0.cell.id == "c" })
        XCTAssertTrue(store.isDone(.model, c.model))
        XCTAssertEqual(plan.models.filter { store.isDone(.model, $0.id) }.count, 1, "only cell c's model")
        XCTAssertEqual(plan.attacks.filter { store.isDone(.attack, $0.id) }.count, 0, "no attack cell")
        let attacks = try reproduce(out, ["--cells", "U", "--only", "attacks"])
        XCTAssertTrue(attacks.contains("1 to run"), attacks)
        let log = String(decoding: try XCTUnwrap(bytes(store.log(.attack, c.attackJobs[0][0]))), as: UTF8.self)
        XCTAssertNotNil(GridCosts.cpuSeconds(log: store.log(.attack, c.attackJobs[0][0])), log)

        let to = temporaryDirectory() + "/report"
        let r = try runTool("train", ["reproduce", "collect", out, "--to", to, "--costs"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let tables = String(decoding: try XCTUnwrap(bytes(to + "/tables.md")), as: UTF8.self)
        XCTAssertTrue(tables.contains("| BNN-2b\\* | fcn 8x1 mnist | 96.4 · pending | 60.7 · pending / - |"), tables)
        XCTAssertTrue(tables.contains("| Full-8b\\* | fcn 8x1 mnist | - · "), tables)
        XCTAssertFalse(tables.contains("| Full-8b\\* | fcn 8x1 mnist | - · pending"), "cell c finished: a number")
        for f in ["README.md", "tables.csv", "results.md", "plots/t.svg", "plots/u.svg"] {
            XCTAssertNotNil(bytes(to + "/" + f), f)
        }
        let costs = String(decoding: try XCTUnwrap(bytes(to + "/costs.md")), as: UTF8.self)
        XCTAssertTrue(costs.contains("| model train-fcn float | 1 / 1 |") && costs.contains("| attack fcn fgsm | 1 / 2 |"), costs)
        XCTAssertNil(bytes(out + "/costs.md"), "--to writes nothing into the run's directory")

        let bad = try runTool("train", ["reproduce", gridPath, "--out", out, "--cells", "zz*"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--cells zz* matches no cell id or table"), bad.stderr)
        let file = temporaryDirectory() + "/f"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let under = try runTool("train", ["reproduce", "collect", out, "--to", file])
        XCTAssertEqual(under.status, 64, under.stderr)
    }

    /// `--emit slurm`: an array per resource class, attack arrays depending on the training arrays, a log per
    /// task; each task's command run by hand (as the scheduler would) and `collect` give a local run's bytes.
    func testSlurmArraysRunByHandCollectToTheLocalResults() throws {
        let local = temporaryDirectory()
        _ = try reproduce(local)
        let out = temporaryDirectory(), dir = temporaryDirectory() + "/slurm"
        let r = try runTool("train", ["reproduce", gridPath, "--out", out, "--data-dir", cache, "--limit", "40",
                                      "--emit", "slurm", dir, "--sbatch=--partition=debug"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("2 Slurm arrays") && r.stdout.contains("train-fcn 2, attack-fcn 3"), r.stdout)
        let submit = try String(contentsOfFile: dir + "/submit.sh", encoding: .utf8)
        XCTAssertTrue(submit.contains("sbatch --parsable --dependency=afterok:$JOB_TRAIN_FCN 'attack-fcn.sbatch'"), submit)
        let sbatch = try String(contentsOfFile: dir + "/attack-fcn.sbatch", encoding: .utf8)
        for line in ["#SBATCH --array=0-2", "#SBATCH --cpus-per-task=1", "#SBATCH --partition=debug", "export OPENBLAS_NUM_THREADS=1",
                     "#SBATCH --output=\"\(FileIdentity.canonicalPath(out))/logs/attack-fcn-%A_%a.log\""] {
            XCTAssertTrue(sbatch.contains(line), "no \(line) in\n\(sbatch)")
        }
        for kind in ["train", "attack"] {
            let ids = try String(contentsOfFile: dir + "/\(kind)-fcn.list", encoding: .utf8).split(separator: "\n")
            for id in ids {
                let job = try runTool("train", ["reproduce", "job", out, kind == "train" ? "model" : "attack", String(id), "--data-dir", cache],
                                      environment: ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 })
                XCTAssertEqual(job.status, 0, job.stdout + job.stderr)
            }
        }
        let collect = try runTool("/bin/bash", [dir + "/collect.sh"])
        XCTAssertEqual(collect.status, 0, collect.stderr)
        XCTAssertTrue(collect.stdout.contains("3/3 attack cells"), collect.stdout)
        XCTAssertEqual(bytes(out + "/results.json"), bytes(local + "/results.json"))
        // Every job finished: a second emission has nothing to submit.
        let none = try runTool("train", ["reproduce", gridPath, "--out", out, "--data-dir", cache, "--limit", "40", "--emit", "slurm", dir])
        XCTAssertTrue(none.stdout.contains("wrote 0 Slurm arrays"), none.stdout)
    }

    /// Issue 18 item 4: a 2-bit edge cell starts from its PGD job's kept run (two jobs at once: the runner
    /// holds the edge job until its PGD job has finished) and gives what an edge sweep from scratch gives,
    /// bit for bit, its zero-gradient fraction (the PGD start's counts included) too; a kept run that is not
    /// this edge attack's start is refused, exit 1, naming what differs.
    func testEdgeCellFromItsPGDJobEqualsOneFromScratchAndAMismatchedStartIsRefused() throws {
        let grid = temporaryDirectory() + "/edge.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: grid, contents: Data(#"""
        {"format": 1, "name": "edge", "attack_settings": {"steps": 2},
         "cells": [{"id": "e", "table": "T", "row": "BNN-2b", "paper_net": "fcn2",
           "training": {"dataset": "mnist", "arch": "fcn", "width": 8, "depth": 1, "precision": "binary", "input_bits": 2, "epochs": 2, "batch_size": 50},
           "attacks": ["edge", "pgd"], "eps": [0.2], "paper": {"robust": [null]}}]}
        """#.utf8)))
        let out = temporaryDirectory()
        let r = try runTool("train", ["reproduce", grid, "--out", out, "--data-dir", cache, "--limit", "40", "--jobs", "2"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let store = GridStore(root: FileIdentity.canonicalPath(out))
        let plan = try store.readPlan()
        let edge = try XCTUnwrap(plan.attacks.first { $0.attack == .edge }), pgd = try XCTUnwrap(plan.attacks.first { $0.attack == .pgd })
        XCTAssertEqual(edge.start, pgd.id)
        let log = String(decoding: try XCTUnwrap(bytes(store.log(.attack, edge.id))), as: UTF8.self)
        XCTAssertTrue(log.contains("the edge attack starts from PGD job \(pgd.id)"), log)

        // The same sweep from scratch, and the journal's numbers side by side.
        let checkpoint = store.checkpoint(edge.model)
        let scratch = temporaryDirectory() + "/scratch"
        let s = try runTool("train", ["sweep", checkpoint] + edge.arguments + ["--out", scratch, "--data-dir", cache])
        XCTAssertEqual(s.status, 0, s.stderr)
        func journal(_ prefix: String) throws -> [String: Any] {
            let line = try XCTUnwrap(String(decoding: try XCTUnwrap(bytes(prefix + ".jsonl")), as: UTF8.self).split(separator: "\n").first)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let fromStart = try journal(store.sweepPrefix(edge.id)), fromScratch = try journal(scratch)
        for key in ["robust_mask", "robust_accuracy", "successes", "clean_correct", "zero_gradient_fraction", "mean_perturbation",
                    "max_perturbation", "settings", "images"] {
            XCTAssertEqual("\(fromStart[key] ?? "none")", "\(fromScratch[key] ?? "none")", key)
        }
        let pgdCell = try journal(store.sweepPrefix(pgd.id))
        XCTAssertNotEqual("\(pgdCell["zero_gradient_fraction"] ?? "")", "\(fromStart["zero_gradient_fraction"] ?? "")",
                          "the edge cell's counts are more than its start's")

        // A kept run that is not this attack's start: exit 1, naming the field and both values.
        let start = store.startDirectory(pgd.id)
        let sha = try RobustnessSweep.sha256(path: checkpoint)
        func sweep(_ model: String, eps: String = "0.2", steps: String = "2", seed: String = "1", limit: String = "40", _ more: [String] = []) -> [String] {
            ["sweep", model, "--attacks", "edge", "--eps", eps, "--steps", steps, "--seed", seed, "--limit", limit] + more
                + ["--edge-start", start, "--out", temporaryDirectory() + "/x", "--data-dir", cache]
        }
        for (args, words) in [(sweep(checkpoint, eps: "0.3"), "its eps is 0.2, this attack's is 0.3"),
                              (sweep(checkpoint, seed: "2"), "its seed is 1, this attack's is 2"),
                              (sweep(checkpoint, limit: "30"), "its image count is 40, this attack's is 30"),
                              (sweep(checkpoint, steps: "3"), "its PGD settings is steps=2 restarts=1 +fgsm loss=ce step=auto, this attack's is steps=3"),
                              (sweep(checkpoint, ["--no-random-start"]), "this attack's is steps=2 restarts=1 no-random-start"),
                              (sweep(Fixture.binaryCheckpoint), "its model (checkpoint SHA-256) is \(sha)")] {
            let refused = try runTool("train", args)
            XCTAssertEqual(refused.status, 1, "\(args): " + refused.stdout + refused.stderr)
            XCTAssertTrue(refused.stderr.contains("not the PGD start of this edge attack") && refused.stderr.contains(words), "\(args): " + refused.stderr)
        }
        XCTAssertEqual(try runTool("train", sweep(checkpoint)).status, 0, "the matching start is taken")
        // A kept set of other images than its start file declares: refused before the payload is read.
        let set = try IDXLoader.loadPair(images: start + "/pgd-images-idx3-ubyte", labels: start + "/pgd-labels-idx1-ubyte", classes: 10)
        try set.prefix(10).writeIDX(prefix: start + "/pgd")
        let short = try runTool("train", ["sweep", checkpoint] + edge.arguments + ["--edge-start", start, "--out", temporaryDirectory() + "/y", "--data-dir", cache])
        XCTAssertEqual(short.status, 1, short.stderr)
        XCTAssertTrue(short.stderr.contains("its stored image set is 10x28x28, this attack's is 40x28x28"), short.stderr)
        // Two budgets for one kept run is a usage error.
        let two = try runTool("train", ["sweep", checkpoint, "--attacks", "edge", "--eps", "0.1,0.2", "--edge-start", start, "--out", temporaryDirectory() + "/z"])
        XCTAssertEqual(two.status, 64, two.stderr)
        XCTAssertTrue(two.stderr.contains("--edge-start keeps one PGD run: give one checkpoint and one eps (got 1 and 2)"), two.stderr)
        // The edge job before its PGD job has finished: refused, naming it.
        for id in [edge.id, pgd.id] { try FileManager.default.removeItem(atPath: store.marker(.attack, id)) }
        let early = try runTool("train", ["reproduce", "job", out, "attack", edge.id, "--data-dir", cache])
        XCTAssertEqual(early.status, 1, early.stdout + early.stderr)
        XCTAssertTrue(early.stderr.contains("its PGD start, attack \(pgd.id), has not finished"), early.stderr)
        // A file where the run is to be kept: refused before the PGD cell runs.
        let file = temporaryDirectory() + "/f"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let under = try runTool("train", ["sweep", checkpoint, "--attacks", "pgd", "--eps", "0.2", "--save-start", file, "--out", temporaryDirectory() + "/w"])
        XCTAssertEqual(under.status, 64, under.stderr)
        XCTAssertTrue(under.stderr.contains("--save-start"), under.stderr)
    }

    func testAttackBeforeItsModelAndBadUsageAreRefused() throws {
        let out = temporaryDirectory()
        XCTAssertEqual(try runTool("train", ["reproduce", gridPath, "--out", out, "--emit", "slurm", out + "/s"]).status, 0)
        let plan = try GridStore(root: FileIdentity.canonicalPath(out)).readPlan()
        let early = try runTool("train", ["reproduce", "job", out, "attack", plan.attacks[0].id])
        XCTAssertEqual(early.status, 1)
        XCTAssertTrue(early.stderr.contains("its model \(plan.attacks[0].model) has not finished"), early.stderr)
        for (args, words) in [(["--jobs", "0"], "--jobs 0"), (["--emit", "pbs", "x"], "--emit slurm DIR"), (["--sbatch=-p x"], "go with --emit")] {
            let r = try runTool("train", ["reproduce", gridPath, "--out", out] + args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertTrue(r.stderr.contains(words), r.stderr)
        }
        let bad = temporaryDirectory() + "/bad.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data(#"{"format": 1, "name": "x", "cells": [{"id": "q"}]}"#.utf8)))
        let r = try runTool("train", ["reproduce", bad, "--out", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cell 'q', field 'table': missing"), r.stderr)
    }
}
