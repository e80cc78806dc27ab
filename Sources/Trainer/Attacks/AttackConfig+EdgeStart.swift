// The edge attack's start and when the edge attack is nothing more (EdgeAttack.swift): one rule, used by
// the attack itself and by a grid's plan (GridPlan.swift), which lets the PGD job answer such an edge cell
// instead of running the same PGD twice (issue 18 item 4: 55 of the paper grid's 417 attack cells).

extension AttackConfig {
    /// The PGD the edge attack starts from: these settings (steps, restarts, seed, loss, FGSM candidate) as
    /// PGD through the straight-through gradient.
    public var edgeStart: AttackConfig {
        var c = self
        c.kind = .pgd
        c.gradient = .straightThrough
        return c
    }

    /// Whether the edge attack at this budget on `inputBits`-bit input is its PGD start (`edgeStart`) and
    /// nothing more: on 8-bit input every pixel is its own level (no bin edge to search), and under one pixel
    /// unit of budget (floor(255 eps) = 0) no pixel can change level.
    public func edgeIsItsStart(inputBits: Int) -> Bool { inputBits >= 8 || pixelBudget == 0 }
}
