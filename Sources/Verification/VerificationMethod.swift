/// The complete method that decides what the bounds and the attack leave open (docs/VERIFY.md).
public enum VerificationMethod: String, CaseIterable, Sendable {
    /// Branch and bound over the free pixels' levels (BranchAndBound.swift).
    case branchAndBound = "bab"
    /// One SAT formula per image, solved by CaDiCaL across the wrong classes (Search+SAT.swift).
    case sat
    /// Branch and bound over the first-layer units the root bounds leave open, pixels only to show a wrong class
    /// reachable (Search+Units.swift).
    case units
}
