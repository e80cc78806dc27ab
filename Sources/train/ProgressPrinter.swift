import Foundation
import Trainer

/// Progress for long runs: a live line on a terminal (stderr, redrawn at most 5 times a second),
/// one plain line per epoch otherwise (stdout), so logs and pipes stay readable.
final class ProgressPrinter {
    private let enabled: Bool
    private let live: Bool
    private var lastDraw = Date.distantPast

    init(enabled: Bool) {
        self.enabled = enabled
        live = enabled && isatty(STDERR_FILENO) != 0
    }

    func line(_ s: String) {
        guard enabled else { return }
        FileHandle.standardOutput.write(Data((s + "\n").utf8))
    }

    func batch(_ b: BatchReport, totalEpochs: Int) {
        guard live else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 || b.batch == b.batches else { return }
        lastDraw = now
        let perBatch = b.seconds / Double(b.batch)
        let left = perBatch * Double(b.batches - b.batch) + perBatch * Double(b.batches) * Double(totalEpochs - b.epoch - 1)
        let s = String(format: "\r\u{1B}[2Kepoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  %@ left",
                       b.epoch + 1, totalEpochs, b.batch, b.batches, b.loss, b.accuracy * 100, b.imagesPerSecond,
                       formatDuration(left))
        FileHandle.standardError.write(Data(s.utf8))
    }

    func epoch(_ e: EpochReport, totalEpochs: Int, testAccuracy: Double) {
        if live { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        line(String(format: "epoch %d/%d  loss %.4f  train %.2f%%  test %.2f%%  %.1f s  %.0f img/s",
                    e.epoch + 1, totalEpochs, e.trainLoss, e.trainAccuracy * 100, testAccuracy * 100, e.seconds,
                    e.imagesPerSecond))
    }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
}
