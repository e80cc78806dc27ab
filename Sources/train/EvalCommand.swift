import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

/// `train eval`: a checkpoint's evaluation-mode predictions and scores on a test set, image by image, so
/// an outside tool (bitshield_torch, `infer --predictions/--scores`) compares them one by one.
struct EvalCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a checkpoint (evaluation mode) on its test set or an IDX pair; write per-image predictions and scores.",
        discussion: """
        Example:
          train eval runs/x.safetensors --predictions x.pred --scores x.scores
        writes one predicted class per line and one line of class scores per image (%.9g, which reads back exactly), the \
        same files as `infer MODEL --predictions --scores` on the converted model.
        """)

    @Argument(help: "A checkpoint written by `train` (or by bitshield_torch.save).")
    var checkpoint: String

    @Option(help: "An IDX images file (gzip or raw; idx3 grey, or idx4 colour), e.g. an adversarial set; needs --labels. Default: the checkpoint's data set's test split.")
    var images: String?

    @Option(help: "The IDX labels file for --images.")
    var labels: String?

    @Option(help: "Score only the first N images.")
    var limit: Int?

    @Option(help: "Write one predicted class per line to this file.")
    var predictions: String?

    @Option(help: "Write each image's class scores to this file, one line per image, space-separated, printed %.9g.")
    var scores: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (images == nil) == (labels == nil) else { throw ValidationError("--images and --labels go together") }
        try requirePositive("--limit", limit)
        if let predictions { try requireWritableFile(predictions, option: "--predictions") }
        if let scores { try requireWritableFile(scores, option: "--scores") }
        if let predictions, let scores, predictions == scores {
            throw ValidationError("--predictions and --scores name the same file '\(scores)'")
        }
    }

    func execute() throws {
        let outputs = [predictions, scores].compactMap { $0 }
        var inputs = [checkpoint] + common.dataFiles
        if let images, let labels { inputs += [images, images + ".gz", labels, labels + ".gz"] }
        try refuseOverwriting(inputs: inputs, with: outputs)
        let ck = try Checkpoint.read(path: checkpoint)
        let dataset = try Dataset.named(ck.training.dataset)
        let network = try ck.makeNetwork(path: checkpoint, memoryBudget: common.memoryBudgetBytes)
        let (data, source) = try TestImageOptions.load(images: images, labels: labels, dataset: dataset, dataDir: common.dataDir,
                                                       limit: limit, classes: ck.model.classes)
        let s = try Evaluation.scores(network, on: data)
        let predicted = s.argmaxRows()
        var correct = 0
        for i in 0..<data.count where predicted[i] == Int(data.labels[i]) { correct += 1 }
        let accuracy = Double(correct) / Double(max(data.count, 1))
        if let predictions { try AtomicFile.write(Array(predictionLines(predicted).utf8), to: predictions) }
        if let scores { try AtomicFile.write(Array(scoreLines(s.data, classes: s.cols).utf8), to: scores) }
        print("\(checkpoint) (\(ck.model.summary)) on \(source): \(data.count) images")
        print(String(format: "accuracy %.4f (%d/%d)", accuracy, correct, data.count))
        if common.json {
            print(try jsonLine([
                "accuracy": accuracy, "correct": correct, "images": data.count, "model": ck.model.summary,
                "checkpoint": checkpoint, "source": source,
            ]))
        }
    }
}
