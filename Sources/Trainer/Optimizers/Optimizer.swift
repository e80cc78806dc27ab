import Foundation

/// Optimizer algorithms. Weight decay is L2 added to the gradient (PyTorch's `weight_decay`), for
/// parameters that decay (dense weights, not BatchNorm); binary latent weights are clipped to
/// [-1, 1] after every step (Hubara et al. 2016, Alg. 1).
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// Adam (Kingma & Ba 2015), beta1 0.9, beta2 0.999, eps 1e-8.
    case adam
    /// SGD with (heavy-ball) momentum, PyTorch's form: v = mu v + g; w -= lr v.
    case sgd
}

/// An optimizer with its per-parameter state (kept in checkpoints so training resumes exactly).
public final class Optimizer {
    /// The algorithm.
    public let kind: OptimizerKind
    /// SGD momentum.
    public let momentum: Float
    /// L2 weight decay.
    public let weightDecay: Float
    /// Steps taken so far.
    public private(set) var step: Int = 0
    /// Per-parameter state, by parameter name.
    public var slots: [String: Slot] = [:]

    /// One parameter's optimizer state.
    public final class Slot {
        /// First moment (Adam) or velocity (SGD).
        public var first: [Float]
        /// Second moment (Adam; empty for SGD).
        public var second: [Float]

        /// State for a parameter of `count` values.
        public init(first: [Float], second: [Float]) {
            self.first = first
            self.second = second
        }
    }

    /// A fresh optimizer.
    public init(kind: OptimizerKind, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.kind = kind
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// Restores the step count (with the moments set directly) when resuming.
    public func restore(step: Int) { self.step = step }

    /// Applies one update with learning rate `lr` to every parameter, using its `grad`.
    public func update(_ parameters: [Parameter], lr: Float) {
        step += 1
        let t = Float(step)
        let correction1 = 1 - pow(Optimizer.beta1, t)
        let correction2 = 1 - pow(Optimizer.beta2, t)
        for p in parameters {
            let n = p.value.count
            let slot = slots[p.name] ?? {
                let s = Slot(first: [Float](repeating: 0, count: n),
                             second: kind == .adam ? [Float](repeating: 0, count: n) : [])
                slots[p.name] = s
                return s
            }()
            let wd = p.decays ? weightDecay : 0
            let clip = p.clip ?? .infinity
            let algorithm = kind, mu = momentum
            p.value.withUnsafeMutableBufferPointer { w in
                p.grad.withUnsafeBufferPointer { g in
                    slot.first.withUnsafeMutableBufferPointer { m in
                        slot.second.withUnsafeMutableBufferPointer { v in
                            let (w, g, m, v) = (w.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress)
                            Parallel.forChunks(count: n) { lo, hi in
                                switch algorithm {
                                case .adam:
                                    Optimizer.adamStep(w + lo, g + lo, m + lo, v! + lo, hi - lo, lr: lr / correction1,
                                                       invSqrtC2: 1 / correction2.squareRoot(), wd: wd, clip: clip)
                                case .sgd:
                                    Optimizer.sgdStep(w + lo, g + lo, m + lo, hi - lo, lr: lr, mu: mu, wd: wd, clip: clip)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    /// Adam on `n` values: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr_t m / (sqrt(v / c2) + eps); clip.
    /// Written on SIMD8 lanes: the compiler does not vectorize the scalar loop (sqrt and clamping).
    @inline(never)
    static func adamStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                         _ v: UnsafeMutablePointer<Float>, _ n: Int, lr: Float, invSqrtC2: Float, wd: Float, clip: Float) {
        typealias V = SIMD8<Float>
        let lanes = V.scalarCount
        let high = V(repeating: clip), low = V(repeating: -clip)
        var i = 0
        while i + lanes <= n {
            let wi = UnsafeRawPointer(w + i).loadUnaligned(as: V.self)
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self) + wd * wi
            let mi = beta1 * UnsafeRawPointer(m + i).loadUnaligned(as: V.self) + (1 - beta1) * gi
            let vi = beta2 * UnsafeRawPointer(v + i).loadUnaligned(as: V.self) + (1 - beta2) * gi * gi
            var next = wi - lr * mi / (vi.squareRoot() * invSqrtC2 + epsilon)
            // Comparisons and selects; SIMD's clamp() goes through non-inlined generic min/max.
            next.replace(with: high, where: next .> high)
            next.replace(with: low, where: next .< low)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V.self)
            UnsafeMutableRawPointer(w + i).storeBytes(of: next, as: V.self)
            i += lanes
        }
        while i < n {
            let gi = g[i] + wd * w[i]
            let mi = beta1 * m[i] + (1 - beta1) * gi
            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
            m[i] = mi
            v[i] = vi
            let wi = w[i] - lr * mi / (vi.squareRoot() * invSqrtC2 + epsilon)
            w[i] = min(max(wi, -clip), clip)
            i += 1
        }
    }

    /// SGD with momentum on `n` values: m = mu m + g; w -= lr m; clip.
    @inline(never)
    static func sgdStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                        _ n: Int, lr: Float, mu: Float, wd: Float, clip: Float) {
        for i in 0..<n {
            let gi = g[i] + wd * w[i]
            let mi = mu * m[i] + gi
            m[i] = mi
            w[i] = min(max(w[i] - lr * mi, -clip), clip)
        }
    }
}
