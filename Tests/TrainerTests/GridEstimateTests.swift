import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `GridEstimate`: the time a grid run has left, per resource class, seeded from finished jobs' logs.
final class GridEstimateTests: XCTestCase {
    /// An FCN cell (20 epochs) and a conv cell (5 epochs), two attacks at two budgets each.
    func plan() throws -> GridPlan {
        let conv = #"{"dataset": "fashion-mnist", "arch": "conv", "precision": "binary", "input_bits": 2, "epochs": 5}"#
        let grid = try ExperimentGrid.parse(ExperimentGridTests.grid([ExperimentGridTests.cell("f"), ExperimentGridTests.cell("c", ["training": conv])]), path: "g")
        return GridPlan(grid: grid, options: GridOptions())
    }

    /// Marks a job finished with a log whose CPU line says `seconds` (nil: a log without one).
    func finish(_ store: GridStore, _ kind: GridStore.Kind, _ id: String, seconds: Double?) throws {
        try FileManager.default.createDirectory(atPath: store.root + "/logs", withIntermediateDirectories: true)
        try ("epoch 1/1\n" + (seconds.map { GridCosts.logPrefix + "\($0)\n" } ?? "")).write(toFile: store.log(kind, id), atomically: true, encoding: .utf8)
        try store.finish(kind, id, kind == .model ? ["id": id] : ["id": id, "images": 10, "clean_accuracy": 1.0, "robust_accuracy": 0.5])
    }

    func testTimeLeftUsesEachClassThenItsKindAndSaysWhatIsUntimed() throws {
        let plan = try plan()
        let fcn = plan.models.first { $0.resourceClass == "train-fcn2" }!, conv = plan.models.first { $0.resourceClass == "train-conv" }!
        let fcnAttacks = plan.attacks.filter { $0.model == fcn.id }, convAttacks = plan.attacks.filter { $0.model == conv.id }
        XCTAssertEqual([fcn.epochs, conv.epochs, fcnAttacks.count, convAttacks.count], [20, 5, 4, 4])
        let store = GridStore(root: temporaryDirectory())

        XCTAssertEqual(GridEstimate().remaining(models: [], attacks: [], jobs: 2), "0s")
        XCTAssertEqual(GridEstimate(plan: plan, store: store).remaining(models: plan.models, attacks: plan.attacks, jobs: 2), "unknown yet")

        // Seeded from the logs of finished jobs: the FCN model (200 CPU s over 20 epochs) and one FCN attack
        // (30 s); a finished attack whose log has no CPU line counts for nothing.
        try finish(store, .model, fcn.id, seconds: 200)
        try finish(store, .attack, fcnAttacks[0].id, seconds: 30)
        try finish(store, .attack, fcnAttacks[1].id, seconds: nil)
        var e = GridEstimate(plan: plan, store: store)
        // The conv class has no measurement: it takes its kind's mean, 10 s per epoch and 30 s per attack.
        // (5 epochs x 10 + 4 x 30) / 2 jobs = 85 s.
        XCTAssertEqual(e.remaining(models: [conv], attacks: convAttacks, jobs: 2), "about 1m25s")
        // Once a conv attack is timed, the conv attacks take its class's figure: (50 + 4 x 300) / 2 = 625 s.
        e.addAttack(convAttacks[0], seconds: 300)
        XCTAssertEqual(e.remaining(models: [conv], attacks: convAttacks, jobs: 2), "about 10m25s")
        XCTAssertEqual(e.remaining(models: [], attacks: fcnAttacks, jobs: 1), "about 2m00s", "FCN attacks keep theirs (4 x 30)")

        // Attacks timed, no model yet (a restarted run whose first jobs are attacks): a lower bound.
        var attacksOnly = GridEstimate()
        attacksOnly.addAttack(fcnAttacks[0], seconds: 3600)
        XCTAssertEqual(attacksOnly.remaining(models: [conv], attacks: fcnAttacks, jobs: 1),
                       "more than about 4h00m (5 model epochs not yet timed)")
    }
}
