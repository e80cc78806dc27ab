// `make bench-validate`: host microseconds to validate an image at the format's table caps (4,096
// tensors, 1,024 ops: HostileImages.largestTables, the image DeviceTests validates on the Cortex-M4),
// median of 51 runs, and, with BASELINE=<commit>, the same for that commit's reader in the same run.
import Glibc
import ImageFixtures
import ModelFormat

@main
struct ValidateBench {
    static func main() {
        let bytes = HostileImages.largestTables()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let runs = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 51
        var times: [Double] = []
        for _ in 0..<runs {
            var t0 = timespec(), t1 = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t0)
            let image = try? ModelImage(bytes: UnsafeRawBufferPointer(buffer))
            clock_gettime(CLOCK_MONOTONIC, &t1)
            precondition(image?.tensorCount == ImageLayout.maxTensors, "the image must validate")
            times.append(Double(t1.tv_sec - t0.tv_sec) * 1e6 + Double(t1.tv_nsec - t0.tv_nsec) / 1e3)
        }
        times.sort()
        print("validate \(ImageLayout.maxTensors) tensors, \(ImageLayout.maxOps) ops (\(bytes.count) B): "
              + "median \(Int(times[runs / 2].rounded())) µs, min \(Int(times[0].rounded())) µs over \(runs) runs")
    }
}
