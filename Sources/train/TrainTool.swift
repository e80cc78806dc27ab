import ArgumentParser

/// `train`: trains the paper's networks and (in later releases) attacks them.
struct TrainTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train and attack discretized and binarized networks (Panda, Chakraborty & Roy).",
        discussion: """
        With no subcommand, `train` runs `train fit`; `train attack` writes adversarial test sets; `train eval` writes per-image predictions and scores; `train sweep` runs
        robustness sweeps with reports; `train reproduce` runs a declared experiment grid (experiments/paper.json). Example:
          train --dataset mnist --arch fcn2 --precision binary --input-bits 2 --epochs 10 --seed 1 --out runs/bnn-2b.safetensors
        Data comes from the data cache (make data); override with --data-dir or $BITSHIELD_DATA.
        Memory: a network whose weights, gradients, optimizer state and statistics exceed 8 GiB is refused with the bytes it needs (--memory-budget GiB raises it; FCN1 with Adam takes about 1.9 GB).
        Exit codes: 0 success, 1 failure, 64 bad usage.
        """,
        subcommands: [Fit.self, AttackCommand.self, SweepCommand.self, EvalCommand.self, ReproduceCommand.self],
        defaultSubcommand: Fit.self)
}
