import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// The experiment grid: the committed paper grid reads and plans as the paper's tables need, and a
/// malformed grid is refused with an error naming the cell and the field (issue 18, item 1).
final class ExperimentGridTests: XCTestCase {
    /// `experiments/paper.json` in the source tree.
    static let paperGrid = URL(fileURLWithPath: Fixture.directory).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("experiments/paper.json").path

    /// A valid cell as JSON text, with `replace` spliced over its members (key -> raw JSON, nil: drop the key).
    static func cell(_ id: String = "c1", _ replace: [String: String?] = [:]) -> String {
        var members: [(String, String)] = [
            ("id", "\"\(id)\""), ("table", "\"Table 5\""), ("row", "\"BNN-2b\""), ("paper_net", "\"fcn1\""),
            ("training", #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 20}"#),
            ("attacks", #"["fgsm", "pgd"]"#), ("eps", #"[0.1, "16/255"]"#), ("paper", #"{"clean": 96.4, "robust": [96.4, null]}"#),
        ]
        for (k, v) in replace {
            if let i = members.firstIndex(where: { $0.0 == k }) {
                if let v { members[i].1 = v } else { members.remove(at: i) }
            } else if let v {
                members.append((k, v))
            }
        }
        return "{" + members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// A cell's `training` object with `extra` members (raw JSON) after the usual ones.
    static func training(_ extra: String, precision: String = "binary", bits: Int = 1) -> String {
        #"{"dataset": "mnist", "arch": "fcn", "precision": "\#(precision)", "input_bits": \#(bits), "epochs": 10, \#(extra)}"#
    }

    static func grid(_ cells: [String], top: String = "") -> [UInt8] {
        Array(#"{"format": 1, "name": "t", \#(top)"cells": [\#(cells.joined(separator: ", "))]}"#.utf8)
    }

    /// The error text for `bytes`, failing when they are accepted.
    func refusal(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ExperimentGrid.parse(bytes, path: "g.json")
            XCTFail("accepted: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            return ""
        } catch {
            guard case .badGrid = error else { XCTFail("not a grid error: \(error)", file: file, line: line); return "" }
            return error.description
        }
    }

    func testPaperGridReadsAndSharesModels() throws {
        let grid = try ExperimentGrid.read(path: Self.paperGrid)
        let tables = Set(grid.cells.map(\.table))
        for t in ["Fig. 4(b)", "Table 2 (MNIST)", "Table 3 (MNIST)", "Table 5", "Table 6 (MNIST)", "Table 1 / Fig. 4(a) (CIFAR-10)",
                  "Table 2 (CIFAR-10)", "Table 3 (CIFAR-10)", "Table 4 (CIFAR-10)", "Table 6 (CIFAR-10)"] {
            XCTAssertTrue(tables.contains(t), "paper.json lacks \(t)")
        }
        // Table 5 as the paper prints it, beside the cells.
        let bnn2 = try XCTUnwrap(grid.cells.first { $0.id == "t5-bnn-2b" })
        XCTAssertEqual(bnn2.paper.clean, 96.4)
        XCTAssertEqual(bnn2.paper.robust, [96.4, 60.7, 62.3])
        XCTAssertEqual(bnn2.training.epochs, 20)
        // CIFAR cells run the conv net on Fashion-MNIST at the paper's CIFAR budgets and the MNIST ones.
        let t4 = try XCTUnwrap(grid.cells.first { $0.id == "t4-cifar-full-8b" })
        XCTAssertEqual(t4.training.dataset, .fashionMNIST)
        XCTAssertEqual(t4.paperDataset, .cifar10)
        XCTAssertEqual(t4.epsilons.map(\.text), ["8/255", "16/255", "32/255", "0.1", "0.2", "0.3"])
        XCTAssertEqual(t4.epsilons[0].value, Float(8.0 / 255.0))

        let plan = GridPlan(grid: grid, options: GridOptions())
        // Table 2's cells without adversarial training are Fig. 4(b)'s models: trained once, attacked once.
        let fig = try XCTUnwrap(plan.cells.first { $0.cell.id == "fig4b-full-2b" })
        let t2 = try XCTUnwrap(plan.cells.first { $0.cell.id == "t2-mnist-2b" })
        XCTAssertEqual(fig.model, t2.model)
        XCTAssertEqual(fig.attackJobs[0][1], t2.attackJobs[0][0], "fgsm at 0.1 on the same model is one job")
        XCTAssertEqual(plan.models.count, 30, "15 FCN and 15 conv models")
        XCTAssertEqual(Set(plan.models.map(\.id)).count, plan.models.count)
        // 417 attack cells, of which the PGD jobs answer the 55 edge cells on 8-bit input (issue 18 item 4).
        XCTAssertEqual(plan.attacks.count, 362)
        XCTAssertEqual(plan.attacks.filter { $0.attack == .edge }.count, 84)
        // FCN2 stands in for FCN1 under the default preset, not under --preset fcn1; the conv net always stands in for AlexNet.
        XCTAssertTrue(try XCTUnwrap(plan.cells.first { $0.cell.id == "t5-bnn-2b" }).standsIn)
        XCTAssertFalse(fig.standsIn)
        var fcn1 = GridOptions()
        fcn1.preset = .fcn1
        let planFCN1 = GridPlan(grid: grid, options: fcn1)
        XCTAssertFalse(try XCTUnwrap(planFCN1.cells.first { $0.cell.id == "t5-bnn-2b" }).standsIn)
        XCTAssertTrue(try XCTUnwrap(planFCN1.model(planFCN1.cells.first { $0.cell.id == "t5-bnn-2b" }!.model)).arguments.contains("fcn1"))
        // --paper-datasets: the CIFAR cells train on CIFAR-10.
        var paperData = GridOptions()
        paperData.paperDatasets = true
        let cifar = GridPlan(grid: grid, options: paperData)
        XCTAssertEqual(try XCTUnwrap(cifar.cells.first { $0.cell.id == "t4-cifar-full-8b" }).dataset, .cifar10)
    }

    func testMalformedGridsAreRefusedNamingCellAndField() {
        let cases: [([UInt8], [String])] = [
            (Self.grid([Self.cell("a", ["epochs": "3"])]), ["cell 'a'", "field 'epochs'", "unknown key"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epoch": 20}"#])]),
             ["cell 'a'", "field 'training.epoch'", "unknown key"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 9, "epochs": 20}"#])]),
             ["cell 'a'", "field 'training.input_bits'", "9 is outside 1...8"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 0}"#])]),
             ["cell 'a'", "field 'training.epochs'", "0 is outside"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "svhn", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 2}"#])]),
             ["cell 'a'", "field 'training.dataset'", "'svhn'"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": "2", "epochs": 2}"#])]),
             ["cell 'a'", "field 'training.input_bits'", "expected an integer"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 2, "adversarial_eps": 0.3}"#])]),
             ["cell 'a'", "field 'training.adversarial_eps'", "without training.adversarial"]),
            (Self.grid([Self.cell("a", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 2, "adversarial": "square"}"#])]),
             ["cell 'a'", "field 'training.adversarial'", "'square'"]),
            // The verification-friendly keys: train fit's ranges, pairs and the cells it accepts them for.
            (Self.grid([Self.cell("a", ["training": Self.training(#""weight_sparsity": 1.0"#)])]),
             ["cell 'a'", "field 'training.weight_sparsity'", "weight_sparsity 1.0 is outside [0, 1)"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""weight_sparsity": "0.9""#)])]),
             ["cell 'a'", "field 'training.weight_sparsity'", "expected a number, found \"0.9\""]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_eps": 0.1"#)])]),
             ["cell 'a'", "field 'training.certify_eps'", "given without training.certify_weight"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_weight": 0.25"#)])]),
             ["cell 'a'", "field 'training.certify_weight'", "given without training.certify_eps"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_layers": 2"#)])]),
             ["cell 'a'", "field 'training.certify_layers'", "given without training.certify_eps"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_eps": "1/1000", "certify_weight": 0.25"#)])]),
             ["cell 'a'", "field 'training.certify_eps'", "budget 1/1000 0.001 is outside"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_eps": 0.1, "certify_weight": 0"#)])]),
             ["cell 'a'", "field 'training.certify_weight'", "certify_weight 0.0 is outside (0, 100]"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""weight_sparsity": 0.9"#, precision: "float")])]),
             ["cell 'a'", "field 'training.weight_sparsity'", "needs precision binary and arch fcn, not float fcn"]),
            (Self.grid([Self.cell("a", ["training": Self.training(#""certify_eps": 0.1, "certify_weight": 0.25"#, bits: 8)])]),
             ["cell 'a'", "field 'training.certify_eps'", "needs input_bits 1...7"]),
            (Self.grid([Self.cell("a", ["eps": "[0.1, 1.5]", "paper": #"{"robust": [1, 2]}"#])]), ["cell 'a'", "field 'eps[1]'", "1.5"]),
            (Self.grid([Self.cell("a", ["eps": #"[0.1, "8/0"]"#])]), ["cell 'a'", "field 'eps[1]'", "\"8/0\""]),
            (Self.grid([Self.cell("a", ["eps": #"[0.1, 0.10]"#])]), ["cell 'a'", "field 'eps[1]'", "given twice"]),
            (Self.grid([Self.cell("a", ["eps": "[]", "paper": #"{"robust": []}"#])]), ["cell 'a'", "field 'eps'", "no budget"]),
            (Self.grid([Self.cell("a", ["attacks": #"["fgsm", "fgsm"]"#])]), ["cell 'a'", "field 'attacks[1]'", "twice"]),
            (Self.grid([Self.cell("a", ["attacks": #"["transfer"]"#])]), ["cell 'a'", "field 'attacks[0]'", "'transfer'"]),
            (Self.grid([Self.cell("a", ["paper": #"{"clean": 96.4, "robust": [96.4]}"#])]), ["cell 'a'", "field 'paper.robust'", "1 numbers for 2 budgets"]),
            (Self.grid([Self.cell("a", ["paper": #"{"clean": 964, "robust": [1, 2]}"#])]), ["cell 'a'", "field 'paper.clean'", "964"]),
            (Self.grid([Self.cell("a", ["paper": nil])]), ["cell 'a'", "field 'paper'", "missing"]),
            (Self.grid([Self.cell("a", ["certify": "1"])]), ["cell 'a'", "field 'certify'", "expected true or false, found 1"]),
            (Self.grid([Self.cell("a", ["certify": "\"true\""])]), ["cell 'a'", "field 'certify'", "expected true or false, found \"true\""]),
            (Self.grid([Self.cell("a"), Self.cell("a")]), ["cell 'a'", "field 'id'", "cells 0 and 1"]),
            (Self.grid([Self.cell("a b")]), ["cell '#0'", "field 'id'", "character"]),
            (Self.grid([Self.cell("a", ["id": "7"])]), ["cell '#0'", "field 'id'", "expected a non-empty string"]),
            (Self.grid(["[1]"]), ["cell '#0'", "field '(cell)'", "expected an object"]),
            (Self.grid([]), ["field 'cells'", "0 cells"]),
            (Self.grid([Self.cell()], top: #""attack_settings": {"steps": 0}, "#), ["field 'attack_settings.steps'", "0 is outside"]),
            (Self.grid([Self.cell()], top: #""format": 2, "#), ["field 'format'", "given twice"]),
            (Array(#"{"format": 2, "name": "t", "cells": []}"#.utf8), ["field 'format'", "2 is outside 1...1"]),
            (Array(#"{"format": 1, "name": "t", "cells": [}"#.utf8), ["not JSON", "byte"]),
            (Array("".utf8), ["ends unexpectedly at byte 0"]),
            (Array(String(repeating: "[", count: 100).utf8), ["not JSON", "deeper"]),
        ]
        for (bytes, words) in cases {
            let message = refusal(bytes)
            for w in words { XCTAssertTrue(message.contains(w), "'\(w)' not in: \(message)") }
            XCTAssertTrue(message.hasPrefix("g.json: "), message)
        }
    }

    func testOversizedGridFileIsRefusedBeforeReading() throws {
        let path = temporaryDirectory() + "/big.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(count: ExperimentGrid.maxFileBytes + 1)))
        XCTAssertThrowsError(try ExperimentGrid.read(path: path)) { error in
            XCTAssertTrue("\(error)".contains("\(ExperimentGrid.maxFileBytes)"), "\(error)")
        }
    }

    /// Sizes that would make planning slow or the job list huge are refused while reading.
    func testGridSizesAreBounded() {
        let budgets = "[" + (1...65).map { "\"\($0)/255\"" }.joined(separator: ", ") + "]"
        let nulls = "[" + Array(repeating: "null", count: 65).joined(separator: ", ") + "]"
        let many = refusal(Self.grid([Self.cell("a", ["eps": budgets, "paper": #"{"robust": \#(nulls)}"#])]))
        XCTAssertTrue(many.contains("cell 'a', field 'eps': 65 budgets; a cell has at most 64"), many)
        let eps64 = "[" + (1...64).map { "\"\($0)/255\"" }.joined(separator: ", ") + "]"
        let nulls64 = "[" + Array(repeating: "null", count: 64).joined(separator: ", ") + "]"
        let cells = (0..<800).map { Self.cell("c\($0)", ["eps": eps64, "paper": #"{"robust": \#(nulls64)}"#]) }
        let total = refusal(Self.grid(cells))
        XCTAssertTrue(total.contains("cell 'c781', field 'eps': the grid declares more than 100000 attack cells"), total)
    }

    func testJobIDsFollowEverySettingThatChangesANumber() throws {
        let grid = try ExperimentGrid.parse(Self.grid([Self.cell("a"), Self.cell("b", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 20, "seed": 2}"#])]), path: "g")
        let plan = GridPlan(grid: grid, options: GridOptions())
        XCTAssertEqual(plan.models.count, 2, "another seed is another model")
        var limited = GridOptions()
        limited.limit = 10
        let other = GridPlan(grid: grid, options: limited)
        XCTAssertEqual(other.models.map(\.id), plan.models.map(\.id), "--limit changes the attacks, not the models")
        XCTAssertTrue(Set(other.attacks.map(\.id)).isDisjoint(with: plan.attacks.map(\.id)))
        // Ids depend on nothing but the settings.
        XCTAssertEqual(GridPlan(grid: grid, options: GridOptions()).attacks.map(\.id), plan.attacks.map(\.id))
    }

    /// Issue 16: a cell declares a model trained for verification (ternary weights, the certified-interval
    /// penalty), which is another model, trained with those `train fit` options.
    func testVerificationFriendlyKeysBecomeTrainOptions() throws {
        let friendly = Self.training(#""weight_sparsity": 0.9, "certify_eps": "51/510", "certify_weight": 0.25, "certify_layers": 4"#)
        let grid = try ExperimentGrid.parse(Self.grid([Self.cell("a", ["training": Self.training(#""seed": 1"#)]),
                                                       Self.cell("b", ["training": friendly])]), path: "g")
        let plan = GridPlan(grid: grid, options: GridOptions())
        XCTAssertEqual(plan.models.count, 2, "a ternary, penalty-trained model is another model")
        let args = plan.models[1].arguments.joined(separator: " ")
        XCTAssertTrue(args.hasSuffix("--weight-sparsity 0.9 --certify-eps 0.1 --certify-weight 0.25 --certify-layers 4"), args)
        XCTAssertFalse(plan.models[0].arguments.contains { $0.hasPrefix("--weight-sparsity") || $0.hasPrefix("--certify") },
                       plan.models[0].arguments.joined(separator: " "))
    }

    /// Issue 16 item 4: an attack job's id hashes what `train sweep` resolves for it (every default, and the
    /// attack's revision), so new edge defaults re-run a grid's edge cells instead of keeping stale results.
    func testAttackJobIDsChangeWhenAnAttacksResolvedDefaultsChange() throws {
        let grid = try ExperimentGrid.parse(Self.grid([Self.cell("a", ["attacks": #"["fgsm", "pgd", "edge"]"#])]), path: "g")
        let plan = GridPlan(grid: grid, options: GridOptions())
        let edge = try XCTUnwrap(plan.attacks.first { $0.attack == .edge })
        // What a grid planned before this change: the arguments alone, which name no edge setting.
        XCTAssertNotEqual(edge.id, GridPlan.jobID("bitshield-grid-attack/1", [edge.model] + edge.arguments),
                          "a grid run before the edge defaults changed must re-run its edge cells")
        XCTAssertFalse(edge.arguments.contains("--patience"), "the defaults are resolved, not passed: \(edge.arguments)")
        // Each edge default alone changes the edge ids and no other attack's.
        var changes: [(String, AttackConfig)] = []
        for (name, change) in [("rounds", { (c: inout AttackConfig) in c.searchRounds += 1 }),
                               ("candidates", { $0.candidates += 1 }), ("patience", { $0.patience += 1 })] {
            var d = AttackConfig(kind: .fgsm, epsilon: 0)
            change(&d)
            changes.append((name, d))
        }
        var square = AttackConfig(kind: .fgsm, epsilon: 0)
        square.queries += 1
        changes.append(("queries (Square only)", square))
        for (name, defaults) in changes {
            let other = GridPlan(grid: grid, options: GridOptions(), attackDefaults: defaults)
            XCTAssertEqual(other.models.map(\.id), plan.models.map(\.id), name)
            for (a, b) in zip(plan.attacks, other.attacks) {
                if a.attack == .edge && name != "queries (Square only)" {
                    XCTAssertNotEqual(a.id, b.id, "\(name) changes the edge job \(a.eps.text)")
                } else {
                    XCTAssertEqual(a.id, b.id, "\(name) leaves \(a.attack) \(a.eps.text) alone")
                }
            }
        }
        // The same defaults give the same ids (the sweep's defaults are the plan's).
        XCTAssertEqual(GridPlan(grid: grid, options: GridOptions(), attackDefaults: AttackConfig(kind: .edge, epsilon: 0.3)).attacks.map(\.id),
                       plan.attacks.map(\.id))
        XCTAssertTrue(plan.resolvedSettings(.edge, 0.1).contains("patience=\(AttackConfig.Defaults.patience)"), plan.resolvedSettings(.edge, 0.1))
    }

    /// Issue 18 item 4: on 8-bit input the edge attack is PGD with the same settings and seed (and so under a
    /// budget below one pixel unit), so the PGD job answers the edge row: no edge job, every other id as
    /// before, the PGD figure under edge in every report and a note that says so. A 2-bit edge cell is its own job.
    func testEightBitEdgeCellIsAnsweredByThePGDJob() throws {
        let eight = #"{"dataset": "mnist", "arch": "fcn", "precision": "float", "input_bits": 8, "epochs": 20}"#
        func plan(_ eightBitAttacks: String) throws -> GridPlan {
            let grid = try ExperimentGrid.parse(Self.grid([
                Self.cell("a8", ["row": "\"Full-8b\"", "training": eight, "attacks": eightBitAttacks]),
                Self.cell("b2", ["attacks": #"["fgsm", "pgd", "edge"]"#, "eps": #"[0.1, 0.002]"#]),
            ]), path: "g")
            return GridPlan(grid: grid, options: GridOptions())
        }
        // Edge listed before PGD, and a cell with edge but no PGD row: the PGD job is planned all the same.
        let p = try plan(#"["edge", "pgd"]"#)
        let a8 = p.cells[0], b2 = p.cells[1]
        XCTAssertEqual(a8.attackJobs[0], a8.attackJobs[1], "the 8-bit edge row is the PGD jobs")
        XCTAssertEqual(b2.attackJobs[2][1], b2.attackJobs[1][1], "under 1/255 the 2-bit edge row is the PGD job too")
        XCTAssertEqual(p.attacks.filter { $0.attack == .edge }.map(\.id), [b2.attackJobs[2][0]], "one edge job: 2-bit at 0.1")
        XCTAssertNotEqual(b2.attackJobs[2][0], b2.attackJobs[1][0])
        // The same jobs, with the same ids, as a grid that asks for no 8-bit edge cell at all.
        XCTAssertEqual(p.attacks.map(\.id), try plan(#"["pgd"]"#).attacks.map(\.id))
        XCTAssertEqual(try plan(#"["edge"]"#).attacks.map(\.id), p.attacks.map(\.id))

        let pgd = a8.attackJobs[1]
        let results = GridResults(plan: p, results: [
            pgd[0]: ["images": 100, "clean_accuracy": 0.98, "robust_accuracy": 0.41],
            pgd[1]: ["images": 100, "clean_accuracy": 0.98, "robust_accuracy": 0.07],
        ])
        let tables = results.tablesMarkdown()
        XCTAssertTrue(tables.contains("Budget cells: paper · FGSM / PGD-BPDA / edge (Δ)"), tables)
        XCTAssertTrue(tables.contains("| Full-8b\\* | fcn2 mnist | 96.4 · 98.0 (+1.6) | 96.4 · - / 41.0 / 41.0 | - · - / 7.0 / 7.0 |"), tables)
        XCTAssertTrue(results.tablesCSV().contains("Table 5,Full-8b,a8,fcn2,mnist,true,eps 0.1,96.40,,41.00,41.00,\n"), results.tablesCSV())
        XCTAssertTrue(results.markdown().contains("| Full-8b | fcn2 mnist\\* | edge | - / 98.0 | - / 41.0 | - / 7.0 | |"), results.markdown())
        for text in [tables, results.markdown(), results.readme()] {
            XCTAssertTrue(text.contains("edge = PGD on 8-bit input"), text)
            XCTAssertTrue(text.contains("(2 cells: `a8`, `b2`)"), text)
        }
        // A grid without such a cell says nothing of it.
        let twoBit = GridResults(plan: GridPlan(grid: try ExperimentGrid.parse(Self.grid([Self.cell("c", ["attacks": #"["pgd", "edge"]"#])]), path: "g"),
                                                options: GridOptions()), results: [:])
        XCTAssertFalse(twoBit.tablesMarkdown().contains("edge = PGD"))
        XCTAssertEqual(twoBit.plan.attacks.filter { $0.attack == .edge }.count, 2)
    }

    /// Issue 18 item 4: a fewer-bit edge job starts from the PGD job of the same model, budget and settings
    /// (which keeps its run), keeps the id a from-scratch edge job has (every edge default still changes it:
    /// testAttackJobIDsChangeWhenAnAttacksResolvedDefaultsChange), and on Slurm waits in an array of its own
    /// with `afterok` on the PGD array; once the PGD jobs have finished it goes with the other attack jobs.
    func testFewerBitEdgeJobStartsFromItsPGDJobAndWaitsForIt() throws {
        let eight = #"{"dataset": "mnist", "arch": "fcn", "precision": "float", "input_bits": 8, "epochs": 20}"#
        let grid = try ExperimentGrid.parse(Self.grid([
            Self.cell("b2", ["attacks": #"["fgsm", "edge", "pgd"]"#, "eps": #"[0.1, 0.2]"#, "paper": #"{"robust": [null, null]}"#]),
            Self.cell("a8", ["row": "\"Full-8b\"", "training": eight, "attacks": #"["pgd", "edge"]"#]),
            Self.cell("c2", ["attacks": #"["edge"]"#, "eps": "[0.3]", "paper": #"{"robust": [null]}"#]),
        ]), path: "g")
        let plan = GridPlan(grid: grid, options: GridOptions())
        let b2 = plan.cells[0].attackJobs  // fgsm, edge, pgd x 0.1, 0.2
        for e in 0..<2 {
            let edge = try XCTUnwrap(plan.attack(b2[1][e])), pgd = try XCTUnwrap(plan.attack(b2[2][e]))
            XCTAssertEqual(edge.start, pgd.id, "the 2-bit edge job at \(edge.eps.text) starts from its PGD job")
            XCTAssertTrue(pgd.keepsStart)
            XCTAssertEqual(edge.id, plan.attackID(model: edge.model, edge.arguments, .edge, edge.eps.value), "the id a from-scratch edge job has")
        }
        XCTAssertNil(plan.attack(b2[0][0])?.start)
        XCTAssertFalse(plan.attack(b2[0][0])?.keepsStart ?? true)
        XCTAssertFalse(plan.attacks.contains { $0.model == plan.cells[1].model && $0.keepsStart }, "8-bit: the PGD job is the edge row")
        let c2 = try XCTUnwrap(plan.attack(plan.cells[2].attackJobs[0][0]))
        XCTAssertNil(c2.start, "no PGD job at 0.3: the edge job runs its own")
        // PGD settings that are not the edge attack's start (the true gradient): no link.
        var trueGradient = AttackConfig(kind: .fgsm, epsilon: 0)
        trueGradient.gradient = .trueGradient
        XCTAssertTrue(GridPlan(grid: grid, options: GridOptions(), attackDefaults: trueGradient).attacks.allSatisfy { $0.start == nil && !$0.keepsStart })

        // The job files carry the links; a hostile start is refused.
        let store = GridStore(root: temporaryDirectory())
        try store.write(plan: plan, gridBytes: [])
        XCTAssertEqual(try store.readLinks(b2[1][0]).start, b2[2][0])
        XCTAssertTrue(try store.readLinks(b2[2][0]).keepsStart)
        let bad = try XCTUnwrap(String(data: try Data(contentsOf: URL(fileURLWithPath: store.jobFile(.attack, b2[1][0]))), encoding: .utf8))
        try bad.replacingOccurrences(of: b2[2][0], with: "../../models/x").write(toFile: store.jobFile(.attack, b2[1][0]), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try store.readLinks(b2[1][0])) { XCTAssertTrue("\($0)".contains("field 'start': not a job id"), "\($0)") }
        try store.write(plan: plan, gridBytes: [])

        // Slurm: the edge jobs wait for the PGD array.
        let emission = try SlurmEmission(plan: plan, store: store, directory: "/s", train: "/bin/train", tail: [], sbatchOptions: [])
        func file(_ name: String, _ e: SlurmEmission) -> String { e.files.first { $0.name == name }?.text ?? "(no \(name))" }
        let submit = file("submit.sh", emission)
        XCTAssertTrue(submit.contains("JOB_ATTACK_FCN2_FROM_PGD=$(sbatch --parsable --dependency=afterok:$JOB_TRAIN_FCN2:$JOB_ATTACK_FCN2 'attack-fcn2-from-pgd.sbatch'"), submit)
        XCTAssertEqual(emission.arrays.last?.resourceClass, "attack-fcn2-from-pgd")
        XCTAssertEqual(file("attack-fcn2-from-pgd.list", emission), b2[1].joined(separator: "\n") + "\n")
        XCTAssertFalse(file("attack-fcn2.list", emission).contains(b2[1][0]))
        XCTAssertTrue(file("attack-fcn2.list", emission).contains(c2.id), "an edge job without a start goes with the others")
        XCTAssertTrue(file("attack-fcn2-from-pgd.sbatch", emission).contains("#SBATCH --time=3:00:00"), "an attack task's time")
        for id in b2[2] { try store.finish(.attack, id, ["images": 1]) }
        let later = try SlurmEmission(plan: plan, store: store, directory: "/s", train: "/bin/train", tail: [], sbatchOptions: [])
        XCTAssertFalse(later.arrays.contains { $0.resourceClass.hasSuffix("-from-pgd") })
        XCTAssertTrue(file("attack-fcn2.list", later).contains(b2[1][0]), "its start finished: an attack job like the others")
    }

    /// A budget written `-0.0` passed the range check and its jobs ran `train sweep --eps -0.0`, which the sweep
    /// takes for an option (exit 64, after the model had trained): it is the budget 0.
    func testNegativeZeroBudgetIsZero() throws {
        let plan = GridPlan(grid: try ExperimentGrid.parse(Self.grid([Self.cell("z", ["eps": "[-0.0, 0.1]"])]), path: "g"), options: GridOptions())
        for job in plan.attacks {
            let eps = try XCTUnwrap(job.arguments.firstIndex(of: "--eps").map { job.arguments[$0 + 1] })
            XCTAssertFalse(eps.hasPrefix("-"), job.arguments.joined(separator: " "))
        }
    }

    /// `--emit slurm` with an output directory the scripts cannot name as they did: a line break in `--out`
    /// ended the `#SBATCH --output=` line and ran the rest as a shell command in every task; a space, `#`
    /// or `%` named another log file. Now: blanks, quotes, `#` and `%` are quoted for sbatch (`%` as `%%`),
    /// and a control character is refused, naming it, before anything is written.
    func testSlurmScriptsQuoteOrRefuseHostileOutputPaths() throws {
        let plan = GridPlan(grid: try ExperimentGrid.parse(Self.grid([Self.cell()]), path: "g"), options: GridOptions())
        let odd = "/tmp/a b/c\"d#e%j'f\\g"
        let emission = try SlurmEmission(plan: plan, store: GridStore(root: odd), directory: "/s", train: "/bin/train", tail: [], sbatchOptions: [])
        let sbatch = try XCTUnwrap(emission.files.first { $0.name == "attack-fcn2.sbatch" }?.text)
        XCTAssertTrue(sbatch.contains(#"#SBATCH --output="/tmp/a b/c\"d#e%%j'f\\g/logs/attack-fcn2-%A_%a.log""#), sbatch)
        for (root, train, option) in [("/tmp/x\n/bin/touch /tmp/PWNED;#", "/bin/train", "-p x"), ("/tmp/x", "/bin/tr\rain", "-p x"),
                                      ("/tmp/x", "/bin/train", "--comment=a\n/bin/touch /tmp/PWNED")] {
            XCTAssertThrowsError(try SlurmEmission(plan: plan, store: GridStore(root: root), directory: "/s", train: train, tail: [],
                                                   sbatchOptions: [option])) {
                XCTAssertTrue("\($0)".contains("control character 0x0"), "\($0)")
            }
        }
    }

    /// Issue 16: a cell asks for the certified figure with `"certify": true`: its attack jobs run
    /// `train sweep --certify` (other jobs than without), and results.md gives a certified row under it.
    /// A cell's `"images"` attacks only the first N test images: its jobs pass `--limit N` (the smaller of
    /// it and the run's `--limit`), other cells' ids stay as they were, the run is no smoke run, and the
    /// README names the cells and the count. Out of range, or not an integer, it is refused.
    func testCellImagesLimitThatCellsAttacksOnly() throws {
        let grid = try ExperimentGrid.parse(Self.grid([Self.cell("a", ["images": "7"]), Self.cell("b", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 20, "seed": 2}"#])]), path: "g")
        XCTAssertEqual(grid.cells.map(\.images), [7, nil])
        let plain = try ExperimentGrid.parse(Self.grid([Self.cell("b", ["training": #"{"dataset": "mnist", "arch": "fcn", "precision": "binary", "input_bits": 2, "epochs": 20, "seed": 2}"#])]), path: "g")
        let plan = GridPlan(grid: grid, options: GridOptions())
        func limits(_ p: GridPlan, _ cell: Int) -> [String?] {
            p.cells[cell].attackJobs.joined().map { id in
                let args = p.attacks.first { $0.id == id }!.arguments
                return args.firstIndex(of: "--limit").map { args[$0 + 1] }
            }
        }
        XCTAssertEqual(limits(plan, 0), ["7", "7", "7", "7"])
        XCTAssertEqual(limits(plan, 1), [nil, nil, nil, nil])
        XCTAssertEqual(plan.cells[1].attackJobs, GridPlan(grid: plain, options: GridOptions()).cells[0].attackJobs,
                       "a cell without images keeps its ids")
        var five = GridOptions(), hundred = GridOptions()
        five.limit = 5
        hundred.limit = 100
        XCTAssertEqual(limits(GridPlan(grid: grid, options: five), 0), ["5", "5", "5", "5"], "--limit below the cell's count wins")
        XCTAssertEqual(limits(GridPlan(grid: grid, options: hundred), 0), ["7", "7", "7", "7"], "the cell's count below --limit wins")

        let results = try GridResults(plan: plan, store: GridStore(root: temporaryDirectory()))
        XCTAssertFalse(results.isSmokeRun)
        let readme = results.readme()
        XCTAssertTrue(readme.contains("## Test images"), readme)
        XCTAssertTrue(readme.contains("- first 7 test images: Table 5\n"), readme)
        XCTAssertFalse(try GridResults(plan: GridPlan(grid: plain, options: GridOptions()), store: GridStore(root: temporaryDirectory()))
            .readme().contains("## Test images"), "no section when every cell scores every image")

        for bad in ["0", "-3", "1000001", "2.5", "\"7\"", "true"] {
            let text = refusal(Self.grid([Self.cell("a", ["images": bad])]))
            XCTAssertTrue(text.contains("images"), "\(bad): \(text)")
        }
    }

    func testCertifyCellRunsVerifyAndShowsACertifiedRow() throws {
        let grid = try ExperimentGrid.parse(Self.grid([Self.cell("a", ["certify": "true"]), Self.cell("b", ["certify": "false"])]), path: "g")
        XCTAssertEqual(grid.cells.map(\.certify), [true, false])
        XCTAssertFalse(try ExperimentGrid.parse(Self.grid([Self.cell("a")]), path: "g").cells[0].certify, "off by default")
        let plan = GridPlan(grid: grid, options: GridOptions())
        let a = Set(plan.cells[0].attackJobs.joined()), b = Set(plan.cells[1].attackJobs.joined())
        XCTAssertTrue(a.isDisjoint(with: b), "a certified cell's jobs are other jobs")
        for job in plan.attacks { XCTAssertEqual(job.arguments.contains("--certify"), a.contains(job.id), job.arguments.joined(separator: " ")) }

        let store = GridStore(root: temporaryDirectory())
        let jobs = plan.cells[0].attackJobs  // [fgsm, pgd] x [0.1, 16/255]
        try store.finish(.attack, jobs[1][0], ["id": jobs[1][0], "images": 20, "clean_accuracy": 0.9, "robust_accuracy": 0.7, "certified_robust": 13, "certified_unknown": 2])
        try store.finish(.attack, jobs[0][1], ["id": jobs[0][1], "images": 20, "clean_accuracy": 0.9, "robust_accuracy": 0.5, "certified_note": "n/a: no .bsm beside the checkpoint"])
        let md = try GridResults(plan: plan, store: store).markdown()
        let rows = md.split(separator: "\n").filter { $0.contains("certified (verify)") }
        XCTAssertEqual(rows.count, 1, md)
        XCTAssertEqual(rows.first.map(String.init), "| BNN-2b | fcn2 mnist\\* | certified (verify) | | 65.0 (2 unknown) | n/a |")
    }
}
