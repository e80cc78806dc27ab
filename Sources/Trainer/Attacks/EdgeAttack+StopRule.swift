// The edge attack's stop rule (EdgeAttack.swift): the search of a batch ends when `patience` consecutive
// rounds broke no new image, or at the hard cap of `searchRounds` rounds, or when every image is broken.
// A fixed round count either wastes rounds on easy models or stops while the search is still finding
// examples (on the demo BNN-2b, first 200 test images, 8 candidates: at eps 0.1 new successes came at rounds
// 33, 37, 40, 63 and 69, after the old 20-round default; at eps 0.2 at rounds 34 to 83, then 146 and 220).
// The rule is early stopping with patience (Prechelt, "Early Stopping - But When?", 1998), counted in the
// quantity the attack reports, broken images; Croce & Hein's APGD (ICML 2020) likewise acts on a run of
// iterations without progress. The cap bounds the cost. Rounds run are reported (`search_rounds`).

/// Counts the rounds since the last one that broke a new image of the batch.
struct EdgeStopRule {
    /// Consecutive rounds without a new broken image that end the search; 0: never (only the cap).
    let patience: Int
    /// Images of the batch broken so far (the most seen: a broken image stays broken).
    private(set) var broken: Int
    /// Rounds since `broken` last grew.
    private(set) var quietRounds = 0

    /// The rule for a batch whose start already breaks `broken` images.
    init(patience: Int, broken: Int) {
        self.patience = patience
        self.broken = broken
    }

    /// Records a finished round after which `nowBroken` images are broken; true when the search ends.
    mutating func ends(afterRoundBreaking nowBroken: Int) -> Bool {
        if nowBroken > broken {
            broken = nowBroken
            quietRounds = 0
        } else {
            quietRounds += 1
        }
        return patience > 0 && quietRounds >= patience
    }
}
