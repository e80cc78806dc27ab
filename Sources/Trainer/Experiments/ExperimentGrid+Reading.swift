import Datasets
import JSONReader

extension ExperimentGrid {
    /// Reads and checks a grid file. Every problem is a `.badGrid` naming the cell (by id, or by index
    /// when the id itself is bad) and the field: unknown keys (a misspelt `epoch` is refused, not
    /// ignored), keys given twice, wrong types, values outside the ranges `train fit` and `train sweep`
    /// accept, duplicate cell ids, budgets or attacks, and paper numbers that do not line up with the budgets.
    public static func read(path: String) throws(TrainerError) -> ExperimentGrid {
        let bytes: [UInt8]
        do { bytes = try BoundedFile.contents(of: path, limit: maxFileBytes, what: "experiment grid") } catch {
            throw .dataset(error)
        }
        return try parse(bytes, path: path)
    }

    /// Parses a grid file's bytes (`path` names it in errors).
    public static func parse(_ bytes: [UInt8], path: String) throws(TrainerError) -> ExperimentGrid {
        let root: GridValue
        do { root = try GridValue.parse(bytes) } catch {
            throw .badGrid(path: path, cell: nil, field: error.path.isEmpty ? "(document)" : error.path, problem: error.problem)
        }
        do throws(GridFieldError) {
            var top = try GridFields(root, path: "", cell: nil)
            try top.allow(["format", "name", "description", "notes", "attack_settings", "cells"])
            let format = try top.integer("format", in: 1...1)
            _ = format
            let name = try top.string("name")
            let description = try top.optionalString("description") ?? ""
            _ = try top.optionalStrings("notes")
            var settings = GridAttackSettings()
            if let value = top.value("attack_settings") {
                var s = try GridFields(value, path: "attack_settings", cell: nil)
                try s.allow(["steps", "restarts", "seed"])
                settings.steps = try s.optionalInteger("steps", in: TrainingConfig.Limits.steps) ?? settings.steps
                settings.restarts = try s.optionalInteger("restarts", in: TrainingConfig.Limits.restarts) ?? settings.restarts
                settings.seed = try s.optionalSeed("seed") ?? settings.seed
            }
            let items = try top.array("cells")
            guard !items.isEmpty, items.count <= maxCells else {
                throw GridFieldError(cell: nil, field: "cells", problem: "\(items.count) cells; a grid has 1...\(maxCells)")
            }
            var cells: [GridCell] = []
            var index: [String: Int] = [:]
            var attackCells = 0
            for (i, item) in items.enumerated() {
                let cell = try GridCell.parse(item, index: i)
                if let earlier = index[cell.id] {
                    throw GridFieldError(cell: cell.id, field: "id", problem: "cells \(earlier) and \(i) share this id")
                }
                index[cell.id] = i
                attackCells += cell.attacks.count * cell.epsilons.count
                guard attackCells <= maxAttackCells else {
                    throw GridFieldError(cell: cell.id, field: "eps", problem: "the grid declares more than \(maxAttackCells) attack cells "
                                         + "(attacks x budgets) by this cell")
                }
                cells.append(cell)
            }
            return ExperimentGrid(name: name, description: description, attackSettings: settings, cells: cells)
        } catch {
            throw .badGrid(path: path, cell: error.cell, field: error.field, problem: error.problem)
        }
    }
}

extension GridCell {
    /// Characters a cell id may use (it names files and report rows).
    static func idProblem(_ id: String) -> String? {
        guard !id.isEmpty, id.utf8.count <= 100 else { return "an id has 1...100 characters, this one \(id.utf8.count)" }
        for b in id.utf8 where !(b.isASCIIAlphanumeric || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")) {
            return "'\(id)' has a character outside A-Z a-z 0-9 . _ -"
        }
        return nil
    }

    static func parse(_ value: GridValue, index: Int) throws(GridFieldError) -> GridCell {
        // Until the id is known the cell is named by its index.
        var fields = try GridFields(value, path: "", cell: "#\(index)")
        let id = try fields.string("id")
        if let problem = idProblem(id) { throw GridFieldError(cell: "#\(index)", field: "id", problem: problem) }
        fields.cell = id
        try fields.allow(["id", "table", "row", "paper_net", "paper_dataset", "training", "attacks", "eps", "paper", "note", "certify", "images"])
        let table = try fields.string("table"), row = try fields.string("row")
        let paperNet = try fields.string("paper_net")
        let paperDataset = try fields.optionalString("paper_dataset").map { name throws(GridFieldError) in
            try GridFields.dataset(name, cell: id, field: "paper_dataset")
        }
        let training = try CellTraining.parse(fields.required("training"), cell: id)
        let attacks = try fields.strings("attacks").enumerated().map { (i, name) throws(GridFieldError) -> AttackConfig.Kind in
            guard let kind = AttackConfig.Kind(rawValue: name), kind != .transfer else {
                let names = AttackConfig.Kind.allCases.filter { $0 != .transfer }.map(\.rawValue).joined(separator: ", ")
                throw GridFieldError(cell: id, field: "attacks[\(i)]", problem: "'\(name)' is not one of \(names)")
            }
            return kind
        }
        guard !attacks.isEmpty else { throw GridFieldError(cell: id, field: "attacks", problem: "no attack; give at least one") }
        if let dup = attacks.enumerated().first(where: { attacks[..<$0.offset].contains($0.element) }) {
            throw GridFieldError(cell: id, field: "attacks[\(dup.offset)]", problem: "\(dup.element.rawValue) is named twice")
        }
        let epsValues = try fields.array("eps")
        guard epsValues.count <= ExperimentGrid.maxBudgets else {
            throw GridFieldError(cell: id, field: "eps", problem: "\(epsValues.count) budgets; a cell has at most \(ExperimentGrid.maxBudgets)")
        }
        let eps = try epsValues.enumerated().map { (i, v) throws(GridFieldError) in
            try GridFields.epsilon(v, cell: id, field: "eps[\(i)]")
        }
        guard !eps.isEmpty else { throw GridFieldError(cell: id, field: "eps", problem: "no budget; give at least one") }
        if let dup = eps.enumerated().first(where: { e in eps[..<e.offset].contains { $0.value == e.element.value } }) {
            throw GridFieldError(cell: id, field: "eps[\(dup.offset)]", problem: "budget \(dup.element.text) is given twice")
        }
        var paperFields = try GridFields(fields.required("paper"), path: "paper", cell: id)
        try paperFields.allow(["clean", "robust", "attack"])
        let clean = try paperFields.optionalPercent("clean")
        let robustValues = try paperFields.array("robust")
        guard robustValues.count == eps.count else {
            throw GridFieldError(cell: id, field: "paper.robust", problem: "\(robustValues.count) numbers for \(eps.count) budgets in eps")
        }
        let robust = try robustValues.enumerated().map { (i, v) throws(GridFieldError) in
            try GridFields.percent(v, cell: id, field: "paper.robust[\(i)]")
        }
        var paper = PaperNumbers(clean: clean, robust: robust)
        if let a = try paperFields.optionalString("attack") {
            guard let kind = AttackConfig.Kind(rawValue: a) else {
                throw GridFieldError(cell: id, field: "paper.attack", problem: "'\(a)' is not an attack")
            }
            paper.attack = kind
        }
        return GridCell(id: id, table: table, row: row, paperNet: paperNet, paperDataset: paperDataset, training: training,
                        attacks: attacks, epsilons: eps, paper: paper, note: try fields.optionalString("note"),
                        certify: try fields.optionalBool("certify") ?? false,
                        images: try fields.optionalInteger("images", in: 1...ExperimentGrid.maxCellImages))
    }
}

extension CellTraining {
    static func parse(_ value: GridValue, cell: String) throws(GridFieldError) -> CellTraining {
        var f = try GridFields(value, path: "training", cell: cell)
        try f.allow(["dataset", "arch", "precision", "input_bits", "epochs", "seed", "adversarial", "adversarial_eps",
                     "width", "depth", "batch_size", "weight_sparsity", "certify_eps", "certify_weight", "certify_layers"])
        let dataset = try GridFields.dataset(f.string("dataset"), cell: cell, field: "training.dataset")
        let archName = try f.string("arch")
        guard let arch = GridArch(rawValue: archName) else {
            throw GridFieldError(cell: cell, field: "training.arch", problem: "'\(archName)' is not one of fcn, conv")
        }
        let precisionName = try f.string("precision")
        guard let precision = ModelConfig.Precision(rawValue: precisionName) else {
            let names = ModelConfig.Precision.allCases.map(\.rawValue).joined(separator: ", ")
            throw GridFieldError(cell: cell, field: "training.precision", problem: "'\(precisionName)' is not one of \(names)")
        }
        var t = CellTraining(dataset: dataset, arch: arch, precision: precision,
                             inputBits: try f.integer("input_bits", in: 1...8),
                             epochs: try f.integer("epochs", in: 1...TrainingConfig.maxEpochs))
        t.seed = try f.optionalSeed("seed") ?? 1
        if let name = try f.optionalString("adversarial") {
            guard let kind = AttackConfig.Kind(rawValue: name), [.rfgsm, .fgsm, .pgd].contains(kind) else {
                throw GridFieldError(cell: cell, field: "training.adversarial", problem: "'\(name)' is not one of rfgsm, fgsm, pgd")
            }
            t.adversarial = kind
        }
        if let v = f.value("adversarial_eps"), !v.isNull {
            guard t.adversarial != nil else {
                throw GridFieldError(cell: cell, field: "training.adversarial_eps", problem: "given without training.adversarial")
            }
            t.adversarialEps = try GridFields.epsilon(v, cell: cell, field: "training.adversarial_eps")
        }
        t.width = try f.optionalInteger("width", in: 1...ModelConfig.maxDimension)
        t.depth = try f.optionalInteger("depth", in: 1...ModelConfig.maxLayers)
        t.batchSize = try f.optionalInteger("batch_size", in: 2...TrainingConfig.maxBatchSize)
        try t.parseVerificationFriendly(f, cell: cell)
        return t
    }

    /// The keys that make a model easier to verify (docs/VERIFY.md): `weight_sparsity`, `certify_eps` with
    /// `certify_weight`, `certify_layers`; in the ranges `train fit` accepts (TrainingConfig.Limits), and
    /// refused on the cells `train fit` would refuse them for, so the grid fails when read, not hours later.
    mutating func parseVerificationFriendly(_ f: GridFields, cell: String) throws(GridFieldError) {
        weightSparsity = try f.optionalFloat("weight_sparsity", in: TrainingConfig.Limits.weightSparsity)
        if let v = f.value("certify_eps"), !v.isNull {
            let e = try GridFields.epsilon(v, cell: cell, field: "training.certify_eps")
            if let problem = TrainingConfig.Limits.certifyEpsilon.problem("budget \(e.text)", e.value) {
                throw GridFieldError(cell: cell, field: "training.certify_eps", problem: problem)
            }
            certifyEps = e
        }
        certifyWeight = try f.optionalFloat("certify_weight", in: TrainingConfig.Limits.certifyWeight)
        certifyLayers = try f.optionalInteger("certify_layers", in: TrainingConfig.Limits.certifyLayers)
        if (certifyEps == nil) != (certifyWeight == nil) {
            throw GridFieldError(cell: cell, field: certifyEps == nil ? "training.certify_weight" : "training.certify_eps",
                                 problem: certifyEps == nil ? "given without training.certify_eps" : "given without training.certify_weight")
        }
        if certifyLayers != nil && certifyEps == nil {
            throw GridFieldError(cell: cell, field: "training.certify_layers", problem: "given without training.certify_eps")
        }
        let asks = [("weight_sparsity", (weightSparsity ?? 0) > 0), ("certify_eps", certifyEps != nil)].filter(\.1).map(\.0)
        guard let key = asks.first else { return }
        if precision != .binary || arch != .fcn {
            throw GridFieldError(cell: cell, field: "training." + key,
                                 problem: "needs precision binary and arch fcn, not \(precision.rawValue) \(arch.rawValue)")
        }
        if certifyEps != nil && inputBits == 8 {
            throw GridFieldError(cell: cell, field: "training.certify_eps", problem: "needs input_bits 1...7 (8-bit input has no levels)")
        }
    }
}

/// A grid problem before the file's path is attached.
struct GridFieldError: Error {
    var cell: String?
    var field: String
    var problem: String
}

/// One JSON object of a grid file, read field by field with errors naming the cell and the key path.
struct GridFields {
    private let members: [(key: String, value: GridValue)]
    private let path: String
    var cell: String?

    init(_ value: GridValue, path: String, cell: String?) throws(GridFieldError) {
        guard case let .object(members) = value else {
            throw GridFieldError(cell: cell, field: path.isEmpty ? "(cell)" : path, problem: "expected an object, found \(value.kindName)")
        }
        self.members = members
        self.path = path
        self.cell = cell
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// Refuses keys outside `known` (a misspelt key would otherwise be silently ignored).
    func allow(_ known: [String]) throws(GridFieldError) {
        if let unknown = members.first(where: { !known.contains($0.key) }) {
            throw GridFieldError(cell: cell, field: name(unknown.key), problem: "unknown key; the keys here are \(known.joined(separator: ", "))")
        }
    }

    func value(_ key: String) -> GridValue? { members.first { $0.key == key }?.value }

    func required(_ key: String) throws(GridFieldError) -> GridValue {
        guard let v = value(key), !v.isNull else { throw GridFieldError(cell: cell, field: name(key), problem: "missing") }
        return v
    }

    func string(_ key: String) throws(GridFieldError) -> String {
        let v = try required(key)
        guard case let .string(s) = v, !s.isEmpty else {
            throw GridFieldError(cell: cell, field: name(key), problem: "expected a non-empty string, found \(v.kindName)")
        }
        return s
    }

    func optionalString(_ key: String) throws(GridFieldError) -> String? {
        guard let v = value(key), !v.isNull else { return nil }
        return try string(key)
    }

    func array(_ key: String) throws(GridFieldError) -> [GridValue] {
        let v = try required(key)
        guard case let .array(items) = v else {
            throw GridFieldError(cell: cell, field: name(key), problem: "expected an array, found \(v.kindName)")
        }
        return items
    }

    func strings(_ key: String) throws(GridFieldError) -> [String] {
        try array(key).enumerated().map { (i, v) throws(GridFieldError) in
            guard case let .string(s) = v else {
                throw GridFieldError(cell: cell, field: "\(name(key))[\(i)]", problem: "expected a string, found \(v.kindName)")
            }
            return s
        }
    }

    func optionalStrings(_ key: String) throws(GridFieldError) -> [String]? {
        guard let v = value(key), !v.isNull else { return nil }
        return try strings(key)
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(GridFieldError) -> Int {
        let v = try required(key)
        guard case let .number(n) = v, let i = n.integer else {
            throw GridFieldError(cell: cell, field: name(key), problem: "expected an integer, found \(Self.show(v))")
        }
        guard range.contains(i) else {
            throw GridFieldError(cell: cell, field: name(key), problem: "\(i) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    /// A number inside `limit` (a `train fit` option's range), or nil when absent or null.
    func optionalFloat(_ key: String, in limit: FloatLimit) throws(GridFieldError) -> Float? {
        guard let v = value(key), !v.isNull else { return nil }
        guard case let .number(n) = v, let d = n.double else {
            throw GridFieldError(cell: cell, field: name(key), problem: "expected a number, found \(Self.show(v))")
        }
        let x = Float(d) + 0
        if let problem = limit.problem(key, x) { throw GridFieldError(cell: cell, field: name(key), problem: problem) }
        return x
    }

    func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws(GridFieldError) -> Int? {
        guard let v = value(key), !v.isNull else { return nil }
        return try integer(key, in: range)
    }

    /// true or false (not 1, not "true"), or nil when absent or null.
    func optionalBool(_ key: String) throws(GridFieldError) -> Bool? {
        guard let v = value(key), !v.isNull else { return nil }
        guard case let .bool(b) = v else {
            throw GridFieldError(cell: cell, field: name(key), problem: "expected true or false, found \(Self.show(v))")
        }
        return b
    }

    func optionalSeed(_ key: String) throws(GridFieldError) -> UInt64? {
        guard let i = try optionalInteger(key, in: 0...Int.max) else { return nil }
        return UInt64(i)
    }

    func optionalPercent(_ key: String) throws(GridFieldError) -> Double? {
        guard let v = value(key) else { return nil }
        return try Self.percent(v, cell: cell, field: name(key))
    }

    /// A paper number: a percentage in 0...100, or null where the paper prints none.
    static func percent(_ v: GridValue, cell: String?, field: String) throws(GridFieldError) -> Double? {
        if v.isNull { return nil }
        guard case let .number(n) = v, let d = n.double, (0...100).contains(d) else {
            throw GridFieldError(cell: cell, field: field, problem: "expected a percentage in 0...100 or null, found \(show(v))")
        }
        return d
    }

    /// A budget: a number, or a string `A/B` (`"8/255"`), inside the sweep's range.
    static func epsilon(_ v: GridValue, cell: String?, field: String) throws(GridFieldError) -> GridEpsilon {
        var value: Double?
        var text = ""
        switch v {
        case let .number(n):
            value = n.double
            text = n.text
        case let .string(s):
            text = s
            let parts = s.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), b > 0, a >= 0 { value = Double(a) / Double(b) }
        default: break
        }
        guard let value else {
            throw GridFieldError(cell: cell, field: field, problem: "expected a budget (0.1 or \"8/255\"), found \(show(v))")
        }
        // + 0 makes -0.0 (JSON `-0.0`, `-0`) the budget 0: the jobs' `--eps -0.0` would be an option to the sweep.
        let f = Float(value) + 0
        if let problem = TrainingConfig.Limits.epsilon.problem("budget \(text)", f) {
            throw GridFieldError(cell: cell, field: field, problem: problem)
        }
        return GridEpsilon(text: text, value: f)
    }

    static func dataset(_ name: String, cell: String?, field: String) throws(GridFieldError) -> Dataset {
        guard let d = Dataset(rawValue: name) else {
            let names = Dataset.allCases.map(\.rawValue).joined(separator: ", ")
            throw GridFieldError(cell: cell, field: field, problem: "'\(name)' is not one of \(names)")
        }
        return d
    }

    /// A value as an error message shows it: numbers and strings as written (cut to 40 characters), else its kind.
    static func show(_ v: GridValue) -> String {
        switch v {
        case let .number(n): return n.text.count > 40 ? String(n.text.prefix(40)) + "..." : n.text
        case let .string(s): return "\"" + (s.count > 40 ? String(s.prefix(40)) + "..." : s) + "\""
        default: return v.kindName
        }
    }
}

extension GridValue {
    var isNull: Bool { if case .null = self { return true } else { return false } }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
    }
}
