// The edge attack started from a finished PGD run instead of re-running it (issue 18 item 4): the edge
// attack's first step is PGD of the same settings (`AttackConfig.edgeStart`), the grid's PGD cell of the
// same model, images and seed, so a grid could hand that cell's stored images to the edge cell. With the
// PGD run's gradient counts added once, the edge result is bit-identical to one that crafts its own start
// (SearchAttackTests.testEdgeAttackFromAGivenPGDRunIsBitIdentical), because each PGD batch depends only on
// the settings, the batch's images and its index (its random stream).
import Datasets

/// A finished PGD run an edge attack can start from: its stored images and gradient counts. Only the
/// caller can vouch that it is the run of `AttackConfig.edgeStart` on the same model, images and batch
/// size; the attacker checks what it can (`Attacker.check(_:against:)`).
public struct EdgeStart {
    /// PGD's stored adversarial images, in the order of the attacked set.
    public var images: ImageSet
    /// PGD's gradient entries that were exactly zero, and all it saw (the zero-gradient fraction's parts).
    public var gradientZeros: Int
    public var gradientEntries: Int

    public init(images: ImageSet, gradientZeros: Int, gradientEntries: Int) {
        self.images = images
        self.gradientZeros = gradientZeros
        self.gradientEntries = gradientEntries
    }

    /// The largest gradient count a start may carry: 2^53, exact as a Double, so the edge attack's own
    /// counts added to it can neither overflow an Int nor round (a start file is edited by hand as easily
    /// as written; a PGD run's counts are images x pixels x gradient steps, far below it).
    public static let maxGradientCount = 1 << 53

    /// Why gradient counts `zeros` of `entries` cannot be a PGD run's, or nil: 0 <= zeros <= entries <= 2^53.
    public static func gradientCountsProblem(zeros: Int, entries: Int) -> String? {
        guard zeros >= 0, zeros <= entries, entries <= maxGradientCount else {
            return "gradient counts \(zeros) zeros of \(entries) entries: need 0 <= zeros <= entries <= \(maxGradientCount)"
        }
        return nil
    }

    /// The start a finished PGD run gives.
    public init(pgd result: AttackResult) {
        self.init(images: result.images, gradientZeros: result.gradientZeros, gradientEntries: result.gradientEntries)
    }
}

extension Attacker {
    /// Why `start` cannot start this attack on `data`: this must be an edge attack, the set must have
    /// `data`'s images count, shape and labels, every pixel within the budget of its clean pixel, and the
    /// counts must satisfy 0 <= zeros <= entries <= 2^53 (`EdgeStart.gradientCountsProblem`).
    func check(_ start: EdgeStart, against data: ImageSet) throws(TrainerError) {
        guard config.kind == .edge else { throw .invalidConfig("a given PGD start is for the edge attack, not \(config.kind.rawValue)") }
        let s = start.images
        guard (s.count, s.height, s.width, s.channels) == (data.count, data.height, data.width, data.channels) else {
            throw .dataMismatch("the PGD start holds \(s.count) images of \(s.height)x\(s.width)x\(s.channels), "
                + "the attacked set \(data.count) of \(data.height)x\(data.width)x\(data.channels)")
        }
        if let i = (0..<data.count).first(where: { s.labels[$0] != data.labels[$0] }) {
            throw .dataMismatch("the PGD start's label of image \(i) is \(s.labels[i]), the attacked set's \(data.labels[i])")
        }
        let budget = config.pixelBudget
        if let i = s.pixels.indices.first(where: { abs(Int(s.pixels[$0]) - Int(data.pixels[$0])) > budget }) {
            throw .dataMismatch("the PGD start's pixel \(i % data.imageSize) of image \(i / data.imageSize) is \(s.pixels[i]), "
                + "more than the budget \(budget) from the clean \(data.pixels[i])")
        }
        if let problem = EdgeStart.gradientCountsProblem(zeros: start.gradientZeros, entries: start.gradientEntries) {
            throw .invalidConfig("the PGD start's \(problem)")
        }
    }
}
