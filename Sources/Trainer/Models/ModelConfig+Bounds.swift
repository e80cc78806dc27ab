import ModelFormat

// The numbers of a `ModelConfig` come from checkpoint metadata and command-line options, so nothing is
// built from them before they are bounded: every dimension by the model format's caps (a model the
// exporter could never write is refused up front), every product overflow-checked, and the memory the
// network would take by a budget. `tensorSpecs()` lists the tensors the network will hold from the
// numbers alone, so a checkpoint's tensors can be compared with them before anything is allocated
// (Checkpoint+Validation.swift).

/// One tensor a network holds, known from its configuration alone.
public struct TensorSpec: Equatable, Sendable {
    /// Checkpoint name, e.g. `fc0.weight`.
    public var name: String
    /// Shape, outermost first (as `Parameter.shape`; BatchNorm statistics are `[features]`).
    public var shape: [Int]
    /// A trainable parameter (with gradient and optimizer state), or a BatchNorm statistic.
    public var trainable: Bool
    /// Values in the tensor (bounded by `ImageLayout.maxElements` once `tensorSpecs()` returned it).
    public var elements: Int { shape.reduce(1, *) }
}

extension ModelConfig {
    /// Largest dimension (input side or channels, width, kernel): the model format's cap, 2^24.
    public static let maxDimension = ImageLayout.maxDimension
    /// Most classes: the model format stores the class count in 16 bits.
    public static let maxClasses = Int(UInt16.max)
    /// Most hidden layers, and most conv blocks (the model format holds at most 1,024 ops).
    public static let maxLayers = ImageLayout.maxOps
    /// The memory budget when none is given: 8 GiB for weights, gradients, optimizer state and statistics.
    public static let defaultMemoryBudget = 8 << 30
    /// Largest memory budget the tools accept, in GiB (`--memory-budget`).
    public static let maxMemoryBudgetGiB = 1 << 20
    /// The memory budgets the tools accept, in GiB (`--memory-budget` of `train` and `convert`).
    public static let memoryBudgetsGiB = 1...maxMemoryBudgetGiB

    /// The product of `dims`, or nil when it overflows or exceeds the format's element cap (2^28).
    static func boundedProduct(_ dims: [Int]) -> Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, p <= ImageLayout.maxElements else { return nil }
            n = p
        }
        return n
    }

    /// Checks every integer against the format's caps before any arithmetic uses it: dimensions in
    /// 1...2^24, input and feature maps of at most 2^28 values, 2...65,535 classes, at most 1,024 layers.
    func checkBounds() throws(TrainerError) {
        let cap = ImageLayout.maxDimension
        for (what, d) in [("input height", input.height), ("input width", input.width), ("input channels", input.channels)] {
            guard (1...cap).contains(d) else { throw .invalidConfig("\(what) \(d) is outside 1...\(cap)") }
        }
        guard ModelConfig.boundedProduct([input.height, input.width, input.channels]) != nil else {
            throw .invalidConfig("input \(input.height)x\(input.width)x\(input.channels) has more than \(ImageLayout.maxElements) values")
        }
        guard (2...ModelConfig.maxClasses).contains(classes) else {
            throw .invalidConfig("classes \(classes) is outside 2...\(ModelConfig.maxClasses)")
        }
        guard hidden.count <= ModelConfig.maxLayers, convChannels.count <= ModelConfig.maxLayers else {
            throw .invalidConfig("\(hidden.count) hidden layers and \(convChannels.count) conv blocks: at most \(ModelConfig.maxLayers) each")
        }
        if let w = hidden.first(where: { !(1...cap).contains($0) }) {
            throw .invalidConfig("hidden width \(w) is outside 1...\(cap)")
        }
        if architecture == .conv {
            if let c = convChannels.first(where: { !(1...cap).contains($0) }) {
                throw .invalidConfig("conv channels \(c) is outside 1...\(cap)")
            }
            guard (1...cap).contains(kernel) else { throw .invalidConfig("kernel \(kernel) is outside 1...\(cap)") }
        }
    }

    /// Every tensor of the network this configuration builds (`Network.parameters` and `Network.state`),
    /// from the numbers alone; refuses a configuration `validate()` refuses, or a tensor or feature map
    /// above the format's cap of 2^28 values.
    public func tensorSpecs() throws(TrainerError) -> [TensorSpec] {
        try validate()
        var specs: [TensorSpec] = []
        func add(_ name: String, _ shape: [Int], trainable: Bool = true) throws(TrainerError) {
            guard ModelConfig.boundedProduct(shape) != nil else {
                throw .invalidConfig("tensor '\(name)' of shape \(shape) has more than \(ImageLayout.maxElements) values")
            }
            specs.append(TensorSpec(name: name, shape: shape, trainable: trainable))
        }
        func batchNorm(_ name: String, _ n: Int) throws(TrainerError) {
            try add(name + ".weight", [n])
            try add(name + ".bias", [n])
            try add(name + ".running_mean", [n], trainable: false)
            try add(name + ".running_var", [n], trainable: false)
        }
        var map = input
        if architecture == .conv {
            for (i, channels) in convChannels.enumerated() {
                let conv = [map.height - kernel + 1, map.width - kernel + 1, channels]
                guard ModelConfig.boundedProduct(conv) != nil else {
                    throw .invalidConfig("conv block \(i) output \(conv.map(String.init).joined(separator: "x")) has more than \(ImageLayout.maxElements) values")
                }
                try add("conv\(i).weight", [channels, kernel, kernel, map.channels])
                try batchNorm("convbn\(i)", channels)
                map = FeatureMap(height: conv[0] / 2, width: conv[1] / 2, channels: channels)
            }
        }
        let widths = [map.size] + hidden
        for i in 0..<hidden.count {
            try add("fc\(i).weight", [widths[i + 1], widths[i]])
            try batchNorm("bn\(i)", widths[i + 1])
        }
        let last = hidden.count
        try add("fc\(last).weight", [classes, widths[last]])
        if precision != .float && floatLastLayer {
            try add("fc\(last).bias", [classes])
        } else {
            try batchNorm("bn\(last)", classes)
        }
        return specs
    }

    /// Bytes the network takes with `optimizer`'s state (nil: no optimizer, as `convert` and `attack`):
    /// 4 bytes per value, each trainable value held with its gradient and its optimizer state (Adam 2
    /// values, SGD 1), each statistic once.
    public func memoryBytes(optimizer: OptimizerKind?) throws(TrainerError) -> Int {
        let perTrainable = 2 + (optimizer.map { $0 == .adam ? 2 : 1 } ?? 0)
        // At most 4 * 1,024 + 8 tensors of at most 2^28 values each: no overflow below.
        return try tensorSpecs().reduce(0) { $0 + 4 * $1.elements * ($1.trainable ? perTrainable : 1) }
    }

    /// Refuses a network whose `memoryBytes(optimizer:)` exceed `budget`, with both numbers.
    public func checkMemory(optimizer: OptimizerKind?, budget: Int) throws(TrainerError) {
        let bytes = try memoryBytes(optimizer: optimizer)
        guard bytes <= budget else { throw .overBudget(what: "the network \(summary)", bytes: bytes, budget: budget) }
    }
}
