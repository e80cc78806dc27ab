// Square Attack, L-infinity (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020, Algorithm 1 with the
// vertical-stripe start of Sec. 3.2 and the p_init schedule of their code). Gradient-free: every query is a
// forward pass of the exact model on stored 8-bit pixels, so the input quantizer and sign activations are
// attacked as they are, with nothing to mask.
// Deviations: vertices of the ball are taken in pixel units, clean +/- floor(255 eps) clipped to [0, 255],
// so every query is a storable image; a window that would not change the image takes the opposite sign
// instead of being re-drawn; an image leaves the search once misclassified (as in the paper); `queries`
// counts the initial stripes as the first query.

extension Attacker {
    /// One batch of the Square attack: the stored pixels (no gradients: zero entries seen).
    func squareBatch(_ x0: Matrix, labels: [Int], batch: Int) throws(TrainerError) -> BatchOutcome {
        let map = network.config.input
        let h = map.height, w = map.width, ch = map.channels
        let rows = x0.rows, n = x0.cols
        let budget = config.pixelBudget
        let p0 = pixels8(x0)
        guard budget > 0 else { return BatchOutcome(pixels: p0) }
        var random = SeededRandom(seed: config.seed, stream: 9000 + UInt64(batch))
        let low = p0.map { UInt8(max(Int($0) - budget, 0)) }
        let high = p0.map { UInt8(min(Int($0) + budget, 255)) }
        // Start: vertical stripes, one random sign per column and channel.
        var x = p0
        for r in 0..<rows {
            for col in 0..<w {
                for c in 0..<ch {
                    let up = random.next() & 1 == 1
                    for row in 0..<h {
                        let i = r * n + (row * w + col) * ch + c
                        x[i] = up ? high[i] : low[i]
                    }
                }
            }
        }
        var score = try network.scores(pixels: x, rows: rows, cols: n, labels: labels)
        for query in 1..<max(config.queries, 1) {
            let active = (0..<rows).filter { !score[$0].wrong }
            if active.isEmpty { break }
            let p = Double(config.squareFraction) * Self.squareSchedule(query: query, of: config.queries)
            let side = max(1, min(Int((p * Double(h * w)).squareRoot().rounded()), max(h - 1, 1)))
            var candidates = [UInt8](repeating: 0, count: active.count * n)
            for (a, r) in active.enumerated() {
                for j in 0..<n { candidates[a * n + j] = x[r * n + j] }
                let top = Int(random.next() % UInt64(h - side + 1))
                let left = Int(random.next() % UInt64(w - side + 1))
                for c in 0..<ch {
                    var up = random.next() & 1 == 1
                    // The paper redraws until the window changes; flipping the sign is one redraw.
                    var unchanged = true
                    for row in top..<(top + side) where unchanged {
                        for col in left..<(left + side) {
                            let i = r * n + (row * w + col) * ch + c
                            if x[i] != (up ? high[i] : low[i]) { unchanged = false; break }
                        }
                    }
                    if unchanged { up.toggle() }
                    for row in top..<(top + side) {
                        for col in left..<(left + side) {
                            let j = (row * w + col) * ch + c
                            candidates[a * n + j] = up ? high[r * n + j] : low[r * n + j]
                        }
                    }
                }
            }
            let candidateScore = try network.scores(pixels: candidates, rows: active.count, cols: n,
                                                labels: active.map { labels[$0] })
            for (a, r) in active.enumerated() where candidateScore[a].beats(score[r]) {
                score[r] = candidateScore[a]
                for j in 0..<n { x[r * n + j] = candidates[a * n + j] }
            }
        }
        return BatchOutcome(pixels: x)
    }

    /// The p_init schedule of the authors' code: halved at queries 10, 50, 200, 500, 1000, 2000, 4000, 6000
    /// and 8000 of 10,000, rescaled to the budget.
    static func squareSchedule(query: Int, of total: Int) -> Double {
        let t = Int(Double(query) / Double(max(total, 1)) * 10_000)
        let cuts = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
        var factor = 1.0
        for cut in cuts where t > cut { factor /= 2 }
        return factor
    }
}
