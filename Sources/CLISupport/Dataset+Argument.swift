import ArgumentParser
import Datasets

/// `--dataset` in `train` and `infer`: swift-argument-parser checks the name and lists the data sets in
/// `--help` and in its error (exit 64 from both tools).
extension Dataset: ExpressibleByArgument {}
