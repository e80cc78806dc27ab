import Datasets

/// A declared experiment grid (`experiments/paper.json`): each cell is one row of one of the paper's
/// tables or figures, with the training settings of its model, the attacks and budgets it is scored
/// under, and the paper's numbers beside it. `ExperimentGrid+Reading.swift` reads and checks the file;
/// `GridPlan` turns the cells into jobs (trained models and attack cells, addressed by hashes).
public struct ExperimentGrid: Sendable {
    /// The grid's name (used in reports).
    public var name: String
    /// What the grid reproduces, in a sentence or two.
    public var description: String
    /// Settings every attack of the grid shares (`train sweep`'s options).
    public var attackSettings: GridAttackSettings
    /// The cells, in the file's order (the reports keep it).
    public var cells: [GridCell]

    /// The largest grid file read (a grid of the paper's size is about 20 KB).
    public static let maxFileBytes = 4 << 20
    /// The most cells a grid may declare.
    public static let maxCells = 10_000
    /// The most budgets one cell may list.
    public static let maxBudgets = 64
    /// The largest `"images"` a cell may give (larger than any test set here; a bound against typos).
    public static let maxCellImages = 1_000_000
    /// The most attack cells (cell x attack x budget, before sharing) a grid may declare: the paper's has 603.
    public static let maxAttackCells = 100_000
}

/// The attack settings a grid shares; each becomes a `train sweep` option and part of every attack job's hash.
public struct GridAttackSettings: Sendable, Equatable {
    /// PGD steps (also the edge attack's start), `--steps`.
    public var steps = 40
    /// PGD restarts, `--restarts`.
    public var restarts = 1
    /// Seed of the random starts, `--seed`.
    public var seed: UInt64 = 1
}

/// One budget as the file writes it (`0.1`, or `"8/255"`) and its value on the [0, 1] scale.
public struct GridEpsilon: Sendable, Equatable {
    /// As written, for reports (`8/255`).
    public var text: String
    /// The budget.
    public var value: Float
}

/// The network family a cell trains: fully connected (the preset picks FCN2 or FCN1 unless the cell
/// gives `width`) or the conv net.
public enum GridArch: String, Sendable, CaseIterable {
    case fcn, conv
}

/// A cell's training settings: the `train fit` options that make its model.
public struct CellTraining: Sendable, Equatable {
    /// Data set (`mnist`, `fashion-mnist`, `cifar10`, `cifar100`).
    public var dataset: Dataset
    /// Network family.
    public var arch: GridArch
    /// Weights and activations.
    public var precision: ModelConfig.Precision
    /// Input discretization bits (the paper's Eq. 2; 8 = raw).
    public var inputBits: Int
    /// Epochs.
    public var epochs: Int
    /// Seed for initialisation, shuffling and dropout.
    public var seed: UInt64 = 1
    /// Adversarial training attack (the paper: R-FGSM), or nil.
    public var adversarial: AttackConfig.Kind?
    /// Adversarial training budget (nil: `train fit`'s default for the data set).
    public var adversarialEps: GridEpsilon?
    /// Hidden width, overriding the preset's (tests and small runs).
    public var width: Int?
    /// Number of hidden layers, overriding the architecture's.
    public var depth: Int?
    /// Images per batch (nil: `train fit`'s default).
    public var batchSize: Int?
    /// Sparse ternary weights (`train fit --weight-sparsity`): the fraction of each binary dense layer's
    /// weights that are 0 (format version 5), or nil for ±1 weights. Binary fcn cells only.
    public var weightSparsity: Float?
    /// The certified-interval penalty (`--certify-eps`, `--certify-weight`, `--certify-layers`): the budget
    /// `verify` is to decide images at and the penalty's weight (both or neither), and the hidden layers it acts
    /// on (nil: `train fit`'s default). Binary fcn cells on δ < 8 input only (docs/VERIFY.md).
    public var certifyEps: GridEpsilon?
    public var certifyWeight: Float?
    public var certifyLayers: Int?
}

/// The paper's numbers for a cell, in percent: clean accuracy and adversarial accuracy per budget
/// (aligned with the cell's `eps`; nil where the paper prints none, e.g. a figure).
public struct PaperNumbers: Sendable, Equatable {
    public var clean: Double?
    public var robust: [Double?]
    /// The attack the paper's numbers are under (the paper used FGSM throughout).
    public var attack: AttackConfig.Kind = .fgsm
}

/// One row of one of the paper's tables.
public struct GridCell: Sendable {
    /// Unique id, `[A-Za-z0-9._-]+` (used in reports and file names).
    public var id: String
    /// The paper's table or figure (`Table 5`, `Fig. 4(b)`).
    public var table: String
    /// The row as the paper names it (`BNN-2b`).
    public var row: String
    /// The network the paper ran (`fcn1`, `fcn2`, `alexnet`); a preset that differs marks the cell as a stand-in.
    public var paperNet: String
    /// The data set the paper ran, when it is not the one trained here (CIFAR-10 mapped to Fashion-MNIST).
    public var paperDataset: Dataset?
    /// The model's settings.
    public var training: CellTraining
    /// Attacks scored.
    public var attacks: [AttackConfig.Kind]
    /// Budgets scored, in order.
    public var epsilons: [GridEpsilon]
    /// The paper's numbers.
    public var paper: PaperNumbers
    /// A note for the reader (where the paper is silent, what was assumed).
    public var note: String?
    /// Whether its attack cells also run `verify` (`train sweep --certify`; the grid's `"certify": true`):
    /// results.md then gives a certified row per cell. Off by default: verify takes up to 60 s per image.
    public var certify = false
    /// Attack only the first N test images of this cell (the grid's `"images"`), nil for all of them. A
    /// declared part of the grid, not a smoke-run option: the reports name these cells and the count, and
    /// the claims' sampling noise is computed from the images scored. `--limit` lowers it further.
    public var images: Int?
}
