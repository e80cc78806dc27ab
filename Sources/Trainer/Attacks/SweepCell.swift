/// One finished (model, attack, eps) cell of a robustness sweep: a line of the sweep's journal and a row
/// of its reports. Keys are snake_case in JSON.
public struct SweepCell: Codable, Equatable, Sendable {
    /// The checkpoint path as given.
    public var model: String
    /// The checkpoint's file name without extension (the label in tables and plots).
    public var modelName: String
    /// `ModelConfig.summary`, e.g. `fcn-784-600x4-10-binary-2b`.
    public var modelSummary: String
    /// SHA-256 of the checkpoint file, hex.
    public var sha256: String
    /// The model's input bits (delta).
    public var inputBits: Int
    /// `float`, `binary` or `xnor`.
    public var precision: String
    /// The attack's name (`AttackConfig.Kind`).
    public var attack: String
    /// `AttackConfig.settingsSummary`, plus the transfer source.
    public var settings: String
    /// Budget on the [0, 1] scale.
    public var eps: Double
    /// floor(255 eps).
    public var pixelBudget: Int
    /// Test images attacked.
    public var images: Int
    /// Accuracy on the clean images.
    public var cleanAccuracy: Double
    /// Accuracy on the stored adversarial images, over all `images`.
    public var robustAccuracy: Double
    /// Clean-correct images turned wrong.
    public var successes: Int
    /// Clean-correct images: the success rate's denominator.
    public var cleanCorrect: Int
    /// successes / cleanCorrect.
    public var successRate: Double
    /// Mean over images of the largest |x_adv - x|, pixel units.
    public var meanPerturbation: Double
    /// Largest |x_adv - x|, pixel units.
    public var maxPerturbation: Int
    /// Fraction of gradient entries that were exactly zero (0 for gradient-free attacks).
    public var zeroGradientFraction: Double
    /// Wall-clock seconds of the attack.
    public var seconds: Double
    /// Per test image, 1 when the adversarial image is still classified right: hex, 4 images per digit,
    /// image i in bit (3 - i % 4) of digit i / 4.
    public var robustMask: String
    /// Accuracy the runtime (`infer` on the .bsm) measured on the same stored images, when it ran.
    public var runtimeAccuracy: Double?
    /// Images whose correctness differs between the trainer and the runtime, when it ran.
    public var runtimeDisagreements: Int?
    /// Why the runtime did not score the cell, or what it said.
    public var runtimeNote: String?
    /// Test images `verify` proved robust at this eps on the .bsm (the same for every attack), and those it
    /// left unknown at its time limit; nil when it did not run (`certifiedNote` says why).
    public var certifiedRobust: Int?
    public var certifiedUnknown: Int?
    public var certifiedNote: String?

    /// The certified accuracy, certifiedRobust / images, when verify ran.
    public var certifiedAccuracy: Double? { certifiedRobust.map { Double($0) / Double(images) } }

    /// What identifies a cell for resuming: the checkpoint's path as given and its bytes (two copies of one
    /// checkpoint are two models of the sweep, each with its own rows), the attack and its settings, eps and
    /// the number of images.
    public var key: String { SweepCell.key(model: model, sha256: sha256, attack: attack, settings: settings, eps: eps, images: images) }

    /// The resume key of a cell not yet run.
    public static func key(model: String, sha256: String, attack: String, settings: String, eps: Double, images: Int) -> String {
        "\(model)|\(sha256)|\(attack)|\(settings)|\(eps)|\(images)"
    }

    /// Why this cell, read back from a journal (which anyone can edit), cannot be a row of a report, or nil:
    /// the mask must hold exactly one hex digit per 4 of `images` (unused bits zero), the counts must fit
    /// `images`, every fraction must be finite in [0, 1], and the robust accuracy must be the mask's count.
    public var problem: String? {
        guard images >= 1 else { return "images \(images) is not positive" }
        let digits = images / 4 + (images % 4 == 0 ? 0 : 1)
        guard robustMask.utf8.count == digits else {
            return "robust_mask has \(robustMask.utf8.count) characters for \(images) images (needs \(digits))"
        }
        var robust = 0
        for (i, c) in robustMask.enumerated() {
            guard let v = c.hexDigitValue, c.isASCII else { return "robust_mask has '\(c)' at \(i), not a hex digit" }
            let used = min(4, images - 4 * i)
            guard v & ((1 << (4 - used)) - 1) == 0 else { return "robust_mask digit \(i) sets bits past image \(images)" }
            robust += v.nonzeroBitCount
        }
        if let problem = Self.numbersProblem(images: images, fractions: [
            ("clean_accuracy", cleanAccuracy), ("robust_accuracy", robustAccuracy), ("success_rate", successRate),
            ("zero_gradient_fraction", zeroGradientFraction), ("runtime_accuracy", runtimeAccuracy)],
            cleanCorrect: cleanCorrect, successes: successes, runtimeDisagreements: runtimeDisagreements,
            certifiedRobust: certifiedRobust, certifiedUnknown: certifiedUnknown) { return problem }
        guard (robustAccuracy * Double(images)).rounded() == Double(robust) else {
            return "robust_accuracy \(robustAccuracy) is not the mask's \(robust) of \(images) images"
        }
        return nil
    }

    /// The rule for a cell's numbers besides its mask, wherever they are read back (a journal line, a grid
    /// job's result.json): every fraction given finite in [0, 1], and the counts given fitting `images`
    /// (0 <= successes <= clean_correct <= images, runtime disagreements and certified robust at most images,
    /// certified unknown at most the rest). Nil counts are not checked.
    public static func numbersProblem(images: Int, fractions: [(String, Double?)], cleanCorrect: Int?, successes: Int?,
                                      runtimeDisagreements: Int?, certifiedRobust: Int?, certifiedUnknown: Int?) -> String? {
        guard images >= 1 else { return "images \(images) is not positive" }
        for (name, x) in fractions { if let x, !(x >= 0 && x <= 1) { return "\(name) \(x) is not a fraction in [0, 1]" } }
        if let cleanCorrect, !(0...images).contains(cleanCorrect) { return "clean_correct \(cleanCorrect) is outside 0...\(images)" }
        if let successes, !(0...(cleanCorrect ?? images)).contains(successes) {
            return "successes \(successes) and clean_correct \(cleanCorrect.map(String.init) ?? "-") do not fit \(images) images"
        }
        if let d = runtimeDisagreements, !(0...images).contains(d) { return "runtime_disagreements \(d) is outside 0...\(images)" }
        if let r = certifiedRobust, !(0...images).contains(r) { return "certified_robust \(r) is outside 0...\(images)" }
        if let u = certifiedUnknown, !(0...(images - (certifiedRobust ?? 0))).contains(u) {
            return "certified_unknown \(u) does not fit \(images) images with \(certifiedRobust ?? 0) robust"
        }
        return nil
    }

    /// Packs per-image robustness into the hex mask.
    public static func mask(_ robust: [Bool]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity((robust.count + 3) / 4)
        var i = 0
        while i < robust.count {
            var v = 0
            for b in 0..<4 where i + b < robust.count && robust[i + b] { v |= 8 >> b }
            out.append(digits[v])
            i += 4
        }
        return out
    }

    /// Unpacks the hex mask into per-image robustness.
    public var robustFlags: [Bool] {
        var out: [Bool] = []
        out.reserveCapacity(images)
        for c in robustMask {
            let v = c.hexDigitValue ?? 0
            for b in 0..<4 where out.count < images { out.append(v & (8 >> b) != 0) }
        }
        return out
    }
}
