/// A claim the paper makes in words, checkable from two cells of the grid (or one and its clean
/// accuracy): the README (`GridResults.readme()`) says under each attack whether our numbers bear it out.
public struct PaperClaim: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Cell `better` keeps more accuracy than cell `worse` at budget `eps`.
        case beats(better: String, worse: String, eps: String)
        /// Cell `cell` at budget `eps` stays within `points` of its clean accuracy.
        case nearClean(cell: String, eps: String, points: Double)
    }

    /// Where the paper makes it (`Fig. 4(b)`, `Table 5`).
    public var source: String
    /// The two sides (or the one model) as the sentence names them (`2-bit`, `8-bit`).
    public var names: [String]
    public var kind: Kind

    public init(_ source: String, _ names: [String], _ kind: Kind) {
        self.source = source
        self.names = names
        self.kind = kind
    }

    /// The cells it reads.
    public var cells: [String] {
        switch kind {
        case .beats(let a, let b, _): return [a, b]
        case .nearClean(let c, _, _): return [c]
        }
    }

    /// The claims of Panda, Chakraborty & Roy over `experiments/paper.json`'s cell ids: input
    /// discretization (Fig. 4, Table 2), binarization with adversarial training (Tables 3, 6) and both
    /// together (Tables 4, 5), as the paper's text states them. A grid without a claim's cells skips it.
    public static let paper: [PaperClaim] = [
        PaperClaim("Fig. 4(b)", ["Full-2b"], .nearClean(cell: "fig4b-full-2b", eps: "0.1", points: 2)),
        PaperClaim("Fig. 4(b)", ["Full-2b", "Full-8b"], .beats(better: "fig4b-full-2b", worse: "fig4b-full-8b", eps: "0.1")),
        PaperClaim("Fig. 4(b)", ["Full-2b", "Full-8b"], .beats(better: "fig4b-full-2b", worse: "fig4b-full-8b", eps: "0.3")),
        PaperClaim("Table 2 (MNIST)", ["2b R-FGSM-trained", "8b R-FGSM-trained"], .beats(better: "t2-mnist-2b-adv", worse: "t2-mnist-8b-adv", eps: "0.1")),
        PaperClaim("Table 2 (MNIST)", ["2b R-FGSM-trained", "8b R-FGSM-trained"], .beats(better: "t2-mnist-2b-adv", worse: "t2-mnist-8b-adv", eps: "0.3")),
        PaperClaim("Table 2 (CIFAR-10)", ["2b R-FGSM-trained", "8b R-FGSM-trained"], .beats(better: "t2-cifar-2b-adv", worse: "t2-cifar-8b-adv", eps: "8/255")),
        PaperClaim("Table 2 (CIFAR-10)", ["2b R-FGSM-trained", "8b R-FGSM-trained"], .beats(better: "t2-cifar-2b-adv", worse: "t2-cifar-8b-adv", eps: "16/255")),
        PaperClaim("Table 3 (MNIST)", ["BNN R-FGSM-trained", "Full R-FGSM-trained"], .beats(better: "t3-mnist-bnn", worse: "t3-mnist-full", eps: "0.1")),
        PaperClaim("Table 3 (MNIST)", ["BNN R-FGSM-trained", "Full R-FGSM-trained"], .beats(better: "t3-mnist-bnn", worse: "t3-mnist-full", eps: "0.3")),
        PaperClaim("Table 3 (CIFAR-10)", ["Full R-FGSM-trained", "BNN R-FGSM-trained"], .beats(better: "t3-cifar-full", worse: "t3-cifar-bnn", eps: "8/255")),
        PaperClaim("Table 4 (CIFAR-10)", ["BNN-2b", "BNN-8b"], .beats(better: "t4-cifar-bnn-2b", worse: "t4-cifar-bnn-8b", eps: "8/255")),
        PaperClaim("Table 4 (CIFAR-10)", ["Full-2b", "Full-8b"], .beats(better: "t4-cifar-full-2b", worse: "t4-cifar-full-8b", eps: "8/255")),
        PaperClaim("Table 5", ["BNN-2b"], .nearClean(cell: "t5-bnn-2b", eps: "0.1", points: 2)),
        PaperClaim("Table 5", ["BNN-2b", "Full-2b"], .beats(better: "t5-bnn-2b", worse: "t5-full-2b", eps: "0.2")),
        PaperClaim("Table 5", ["BNN-2b", "Full-2b"], .beats(better: "t5-bnn-2b", worse: "t5-full-2b", eps: "0.3")),
        PaperClaim("Table 5", ["BNN-4b", "Full-4b"], .beats(better: "t5-bnn-4b", worse: "t5-full-4b", eps: "0.2")),
        PaperClaim("Table 5", ["BNN-8b", "Full-8b"], .beats(better: "t5-bnn-8b", worse: "t5-full-8b", eps: "0.1")),
        PaperClaim("Table 5", ["BNN-2b", "BNN-8b"], .beats(better: "t5-bnn-2b", worse: "t5-bnn-8b", eps: "0.3")),
        PaperClaim("Table 6 (MNIST)", ["BNN-2b R-FGSM-trained", "BNN-8b R-FGSM-trained (Table 3)"], .beats(better: "t6-mnist-bnn-2b", worse: "t3-mnist-bnn", eps: "0.3")),
    ]
}
