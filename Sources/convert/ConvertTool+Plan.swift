import ArgumentParser
import Inference
import ModelFormat

// `convert inspect`'s arena plan: the runtime's own planning walk (`Interpreter.plan`), step by step,
// with the kernel the runtime's kernel choice names for each step (Sources/Inference/KernelChoice.swift).

/// The arena plan of `image` with `kernels` (batch of one), as JSON: the kernel set, its total bytes
/// and each step with its ops, kernel, output, scratch and persistent region (offsets -1: none).
func planJSON(_ image: ModelImage, kernels: KernelSet) -> [String: Any] {
    let steps = Interpreter.plan(image: image, kernels: kernels).map { e -> [String: Any] in
        [
            "step": "\(e.step)", "ops": (e.firstOp...e.lastOp).map { "\(image.opKind($0))" }, "first_op": e.firstOp, "last_op": e.lastOp,
            "kernel": "\(e.kernel)", "output_offset": e.outputOffset, "output_bytes": e.outputBytes,
            "scratch_offset": e.scratchOffset, "scratch_bytes": e.scratchBytes,
            "persistent_offset": e.persistentOffset, "persistent_bytes": e.persistentBytes,
        ]
    }
    return ["kernels": kernels.name, "resolved_kernels": kernels.resolved.name,
            "arena_bytes": Interpreter.arenaBytes(for: image, kernels: kernels), "steps": steps]
}

/// The arena plan as text lines, one per step.
func planLines(_ image: ModelImage, kernels: KernelSet) -> [String] {
    let plan = planJSON(image, kernels: kernels)
    var lines = ["plan with kernels \(kernels.name) (\(kernels.resolved.name) here): arena \(plan["arena_bytes"]!) B"]
    for step in plan["steps"] as? [[String: Any]] ?? [] {
        let ops = (step["ops"] as? [String] ?? []).joined(separator: "+")
        let first = step["first_op"] as? Int ?? 0, last = step["last_op"] as? Int ?? 0
        var line = (first == last ? "  op \(first) " : "  ops \(first)...\(last) ") + "\(ops): \(step["kernel"]!)"
        line += region("out", step["output_offset"], step["output_bytes"])
        line += region("scratch", step["scratch_offset"], step["scratch_bytes"])
        line += region("persistent", step["persistent_offset"], step["persistent_bytes"])
        lines.append(line)
    }
    return lines
}

/// ", NAME @OFFSET+BYTES B" for a region in the arena, "" for none.
private func region(_ name: String, _ offset: Any?, _ bytes: Any?) -> String {
    guard let offset = offset as? Int, let bytes = bytes as? Int, offset >= 0, bytes > 0 else { return "" }
    return ", \(name) @\(offset)+\(bytes) B"
}
