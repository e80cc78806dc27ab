import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `train reproduce collect`'s reports on a tiny fixed result set (issue 18, item 4): the paper's
/// tables laid out as the paper prints them (paper · each attack (Δ)), their CSV, the plots and the
/// README's claims; a job that has not finished reads `pending`, never a number.
final class GridReportTests: XCTestCase {
    /// Two tables: Table 5 with two rows (FCN2 standing in for FCN1), Fig. 4(b) with one row and no paper numbers.
    static let grid = ExperimentGridTests.grid([
        ExperimentGridTests.cell("a"),
        ExperimentGridTests.cell("b", ["row": "\"Full-2b\"", "eps": "[0.1]", "paper": #"{"clean": 97.8, "robust": [97.4]}"#,
                                       "training": #"{"dataset": "mnist", "arch": "fcn", "precision": "float", "input_bits": 2, "epochs": 20}"#]),
        ExperimentGridTests.cell("c", ["table": "\"Fig. 4(b)\"", "row": "\"Full-2b\"", "paper_net": "\"fcn2\"", "attacks": #"["fgsm"]"#,
                                       "eps": "[0.1]", "paper": #"{"robust": [null]}"#,
                                       "training": #"{"dataset": "mnist", "arch": "fcn", "precision": "float", "input_bits": 2, "epochs": 10}"#]),
    ])

    /// Some jobs finished, some not: a's FGSM at 16/255 and b's PGD at 0.1 and all of c are pending.
    func results() throws -> GridResults {
        let plan = GridPlan(grid: try ExperimentGrid.parse(Self.grid, path: "g.json"), options: GridOptions())
        let store = GridStore(root: temporaryDirectory())
        let a = plan.cells[0].attackJobs, b = plan.cells[1].attackJobs  // [fgsm, pgd] x budgets
        func finish(_ id: String, clean: Double, robust: Double) throws {
            try store.finish(.attack, id, ["id": id, "images": 10_000, "clean_accuracy": clean, "robust_accuracy": robust])
        }
        try finish(a[0][0], clean: 0.95, robust: 0.9)
        try finish(a[1][0], clean: 0.95, robust: 0.5)
        try finish(a[1][1], clean: 0.95, robust: 0.3)
        try finish(b[0][0], clean: 0.97, robust: 0.8)
        return try GridResults(plan: plan, store: store)
    }

    /// `collect` over hostile finished jobs: a result.json whose accuracy overflowed to infinity in the
    /// difference made results.json `{}` with exit 0; one that said 500 %, -3 images, more certified than
    /// images or another job's id gave those numbers as ours. Each is refused, naming the file, key and value.
    func testCollectRefusesResultFilesThatLie() throws {
        let plan = GridPlan(grid: try ExperimentGrid.parse(Self.grid, path: "g.json"), options: GridOptions())
        let id = plan.cells[1].attackJobs[0][0], other = plan.cells[0].attackJobs[0][0]
        let good: [String: Any] = ["id": id, "images": 20, "clean_accuracy": 0.9, "robust_accuracy": 0.5, "clean_correct": 18,
                                   "successes": 8, "max_perturbation": 25, "pixel_budget": 25, "mean_perturbation": 20.5]
        let cases: [(String, Any, String)] = [
            ("robust_accuracy", 1e308, "robust_accuracy 1e+308 is not a fraction"), ("clean_accuracy", 5.0, "clean_accuracy 5.0 is not a fraction"),
            ("images", -3, "field 'images': -3, not a positive integer"), ("certified_robust", 21, "certified_robust 21 is outside 0...20"),
            ("successes", 19, "successes 19 and clean_correct 18"), ("id", other, "not this job's id \(id)"),
            ("clean_correct", "18", "field 'clean_correct': 18, not an integer"), ("max_perturbation", 26, "max_perturbation 26"),
        ]
        for (key, value, words) in cases {
            let store = GridStore(root: temporaryDirectory())
            var o = good
            o[key] = value
            try store.finish(.attack, id, o)
            XCTAssertThrowsError(try GridResults(plan: plan, store: store), "\(key) \(value)") {
                XCTAssertTrue("\($0)".contains(store.marker(.attack, id)) && "\($0)".contains(words), "\(key): \($0)")
            }
        }
        let store = GridStore(root: temporaryDirectory())
        try store.finish(.attack, id, good)
        XCTAssertEqual(try GridResults(plan: plan, store: store).finished.done, 1)
    }

    /// `collect --costs` over hostile logs: a job's log that is a FIFO blocked the open forever, and one that
    /// is a symlink to /dev/zero was read to its (absent) end, allocating without bound. Only a regular
    /// file's last 4 KiB are read now; anything else is a job without a measured cost.
    func testCostsReadOnlyARegularLogsTail() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(mkfifo(dir + "/fifo.log", 0o600), 0)
        XCTAssertNil(GridCosts.cpuSeconds(log: dir + "/fifo.log"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/zero.log", withDestinationPath: "/dev/zero")
        XCTAssertNil(GridCosts.cpuSeconds(log: dir + "/zero.log"))
        try (String(repeating: "epoch 1\n", count: 2000) + GridCosts.logPrefix + "12.5\n").write(toFile: dir + "/ok.log", atomically: true, encoding: .utf8)
        XCTAssertEqual(GridCosts.cpuSeconds(log: dir + "/ok.log"), 12.5)
        XCTAssertNil(GridCosts.cpuSeconds(log: dir + "/missing.log"))
    }

    func testPaperTablesAndCSVShowPaperOursPerAttackAndPending() throws {
        let r = try results()
        let md = r.tablesMarkdown()
        let table5 = """
        | model | net | clean | ε 0.1 | ε 16/255 |
        |---|---|---|---|---|
        | BNN-2b\\* | fcn2 mnist | 96.4 · 95.0 (-1.4) | 96.4 · 90.0 / 50.0 (-6.4) | - · pending / 30.0 |
        | Full-2b\\* | fcn2 mnist | 97.8 · 97.0 (-0.8) | 97.4 · 80.0 / pending (-17.4) | - |

        """
        XCTAssertTrue(md.contains("## Table 5\n\nBudget cells: paper · FGSM / PGD-BPDA (Δ). Plot: [table-5.svg](plots/table-5.svg).\n\n" + table5), md)
        let fig = """
        | model | net | clean | ε 0.1 |
        |---|---|---|---|
        | Full-2b | fcn2 mnist | - · pending | - · pending |

        """
        XCTAssertTrue(md.contains("## Fig. 4(b)\n\nBudget cells: paper · FGSM (Δ). Plot: [fig-4-b.svg](plots/fig-4-b.svg).\n\n" + fig), md)
        XCTAssertTrue(md.contains("from 4 of 7 attack jobs (3 models; preset fcn2)"), md)
        XCTAssertEqual(r.tablesCSV(), """
        table,row,cell,net,dataset,stands_in,column,paper_percent,fgsm_percent,pgd_percent,difference_points
        Table 5,BNN-2b,a,fcn2,mnist,true,clean,96.40,95.00,95.00,-1.40
        Table 5,BNN-2b,a,fcn2,mnist,true,eps 0.1,96.40,90.00,50.00,-6.40
        Table 5,BNN-2b,a,fcn2,mnist,true,eps 16/255,,pending,30.00,
        Table 5,Full-2b,b,fcn2,mnist,true,clean,97.80,97.00,97.00,-0.80
        Table 5,Full-2b,b,fcn2,mnist,true,eps 0.1,97.40,80.00,pending,-17.40
        Fig. 4(b),Full-2b,c,fcn2,mnist,false,clean,,pending,,
        Fig. 4(b),Full-2b,c,fcn2,mnist,false,eps 0.1,,pending,,

        """)
    }

    /// One plot per table: a panel per attack, our lines through the finished points in ε order, the
    /// paper's dashed in the FGSM panel only, pending points left out and counted.
    func testPlotDrawsFinishedPointsOnlyAndThePapersLine() throws {
        let r = try results()
        let svg = r.svg(r.plan.paperTables[0])
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), svg)
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        XCTAssertTrue(svg.contains(">FGSM</text>") && svg.contains(">PGD-BPDA</text>"), svg)
        // BNN-2b under PGD: clean at 0, 16/255 (x 492.3) before 0.1 (x 578.0).
        XCTAssertTrue(svg.contains("<polyline points=\"348.0,56.5 492.3,167.0 578.0,133.0\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.8\"/>"), svg)
        XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray").count - 1, 2, "the paper's line, one per row, in the FGSM panel only")
        XCTAssertTrue(svg.contains("2 points pending (jobs not finished): left out"), svg)
        XCTAssertFalse(svg.contains("pending /") || svg.lowercased().contains("nan"), svg)
        XCTAssertEqual(r.plan.paperTables.map(\.fileStem), ["table-5", "fig-4-b"])
    }

    /// The README says per attack whether a claim holds, with both numbers; pending where a side has not
    /// finished; a claim over cells the grid lacks is left out; stand-ins and the largest difference named.
    func testReadmeStatesEachClaimPerAttackFromTheNumbers() throws {
        let r = try results()
        let readme = r.readme(claims: [
            PaperClaim("Table 5", ["BNN-2b", "Full-2b"], .beats(better: "a", worse: "b", eps: "0.1")),
            PaperClaim("Table 5", ["BNN-2b"], .nearClean(cell: "a", eps: "0.1", points: 2)),
            PaperClaim("Table 9", ["X"], .nearClean(cell: "zz", eps: "0.1", points: 2)),
        ])
        XCTAssertTrue(readme.contains("""
        - **Table 5**: BNN-2b\\* keeps more accuracy than Full-2b\\* at ε 0.1 (paper: 96.4 against 97.4, -1.0 points).
          - FGSM: holds (90.0 against 80.0, +10.0 points)
          - PGD-BPDA: pending
        - **Table 5**: BNN-2b\\* stays within 2 points of its clean accuracy at ε 0.1 (paper: 96.4 against 96.4 clean).
          - FGSM: does not hold (90.0 against 95.0 clean, -5.0 points)
          - PGD-BPDA: does not hold (50.0 against 95.0 clean, -45.0 points)

        In sum: under FGSM 1 of 2 claims hold, 1 do not; under PGD-BPDA 0 of 2 claims hold, 1 do not, 1 pending.
        """), readme)
        XCTAssertFalse(readme.contains("Table 9"), "a claim over cells the grid lacks is left out")
        XCTAssertFalse(readme.contains("smoke run"), "a full run is not called a smoke run")
        XCTAssertTrue(readme.contains("- Table 5: Full-2b\\* at ε 0.1, paper 97.4, ours 80.0 (-17.4 points)\n- Fig. 4(b): the paper prints no numbers (a figure)\n"), readme)
        XCTAssertTrue(readme.contains("- fcn2 on mnist stands in for the paper's fcn1 on mnist (2 cells, marked `*`): Table 5\n"), readme)
        // Within the sampling noise of the images scored: 10,000 images give 1.4 points, 200 give 10.
        XCTAssertEqual(GridResults.noisePoints(images: 10_000), 1.414, accuracy: 0.001)
        XCTAssertEqual(GridResults.noisePoints(images: 200), 10, accuracy: 0.001)

        var smoke = GridOptions()
        smoke.limit = 200
        let small = GridResults(plan: GridPlan(grid: r.plan.grid, options: smoke), results: [:])
        let smokeReadme = small.readme(claims: [PaperClaim("Table 5", ["BNN-2b", "Full-2b"], .beats(better: "a", worse: "b", eps: "0.1"))])
        XCTAssertTrue(smokeReadme.contains("**A smoke run (preset fcn2, first 200 test images): its numbers test the pipeline and are not results.**"), smokeReadme)
        XCTAssertTrue(smokeReadme.contains("(paper: 96.4 against 97.4, -1.0 points).\n  - pending under every attack\n"), smokeReadme)
        XCTAssertTrue(smokeReadme.contains("under FGSM 0 of 1 claims hold, 0 do not, 1 pending"), smokeReadme)
        XCTAssertTrue(small.tablesMarkdown().contains("| BNN-2b\\* | fcn2 mnist | 96.4 · pending | 96.4 · pending | - · pending |"))
    }

    /// The paper's claims name cells of experiments/paper.json: a renamed cell would silently drop its claim.
    func testPaperClaimsNameCellsAndBudgetsOfThePaperGrid() throws {
        let grid = try ExperimentGrid.read(path: ExperimentGridTests.paperGrid)
        for claim in PaperClaim.paper {
            for id in claim.cells {
                let cell = try XCTUnwrap(grid.cells.first { $0.id == id }, "claim over \(id): no such cell")
                if case .beats(_, _, let eps) = claim.kind { XCTAssertTrue(cell.epsilons.contains { $0.text == eps }, "\(id) has no budget \(eps)") }
                if case .nearClean(_, let eps, _) = claim.kind { XCTAssertTrue(cell.epsilons.contains { $0.text == eps }, "\(id) has no budget \(eps)") }
            }
        }
    }
}
