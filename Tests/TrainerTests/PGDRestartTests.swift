import Datasets
import XCTest
@testable import Trainer

/// Issue 13: PGD's restart choice is the search attacks' rule (`AttackScore.beats`), judged by the crafting
/// model on the stored pixels. With the same seed the first restart of a run of R is the run of 1, so per
/// image R restarts must score at least as badly for the crafting model as one; for transfer that model is
/// the source, and the target is never consulted.
final class PGDRestartTests: XCTestCase {
    func network(seed: UInt64) throws -> Network {
        let model = ModelConfig.fcn(hidden: [16], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: 2)
        return try TrainingSession(model: model, training: TrainingConfig(learningRate: 0.01, seed: seed)).network
    }

    func testMoreRestartsNeverScoreBetterForTheCraftingModel() throws {
        let (pixels, labels) = CLIFixtures.pixelsAndLabels(count: 40, imageSize: 64, seed: 11)
        let data = try ImageSet(height: 8, width: 8, classes: 10, pixels: pixels, labels: labels)
        let target = try network(seed: 3), source = try network(seed: 4)
        for (kind, crafter) in [(AttackConfig.Kind.pgd, target), (.transfer, source)] {
            func stored(_ restarts: Int) throws -> [AttackScore] {
                let config = AttackConfig(kind: kind, epsilon: 0.1, steps: 3, restarts: restarts, seed: 5)
                let adv = try Attacker(network: target, config: config, source: kind == .transfer ? source : nil).run(on: data).images
                return try crafter.scores(pixels: adv.pixels, rows: adv.count, cols: 64, labels: adv.labels.map(Int.init))
            }
            let one = try stored(1), four = try stored(4)
            for i in 0..<data.count {
                XCTAssertFalse(one[i].beats(four[i]), "\(kind) image \(i): 1 restart \(one[i]) beats 4 restarts \(four[i])")
            }
            XCTAssertTrue(zip(one, four).contains { $1.beats($0) }, "\(kind): 4 restarts never improved on 1; the test shows nothing")
        }
    }
}
