import ArgumentParser
import Inference

/// `--kernels` in `infer` and `convert inspect`: the runtime's kernel sets by their command-line names
/// (`KernelSet.name`, the one list of them), checked by the parser and listed in `--help`.
extension KernelSet: ExpressibleByArgument {
    public init?(argument: String) {
        guard let set = KernelSet.allCases.first(where: { $0.name == argument }) else { return nil }
        self = set
    }

    public static var allValueStrings: [String] { allCases.map(\.name) }

    public var defaultValueDescription: String { name }
}
