/// The sign rule of the whole project: sign(x) = +1 for x >= 0, -1 otherwise, so sign(0) = +1
/// (trainer, converter and runtime alike; PyTorch's `torch.sign(0)` is 0). NaN maps to -1.
@inlinable @inline(__always)
public func binarySign(_ x: Float) -> Float { x >= 0 ? 1 : -1 }

/// The straight-through estimator of Hubara et al. (2016), "Binarized Neural Networks", Sec. 1.1:
/// the gradient of sign(x) is taken as 1 for |x| <= 1 and 0 beyond (the gradient of hardtanh).
@inlinable @inline(__always)
public func signSTEGradient(_ x: Float) -> Float { abs(x) <= 1 ? 1 : 0 }
