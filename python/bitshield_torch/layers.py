"""BitShield's layers in PyTorch, with the trainer's arithmetic (Sources/Trainer).

Exactness in eval mode, which is what makes the predictions equal `infer`'s (spec/PYTORCH.md):
- the input quantizer emits the integer codes of Eq. 2 (2q + 1, or the pixel for 8 bits) and the first
  weight layer multiplies its outputs by the code unit u, as the trainer does;
- binary and XNOR products of codes or +/-1 values with sign(W) are integers, exact in float32 in any
  summation order (|A| < 2^24);
- each layer then computes, per output, ((A * c) * scale) + shift in float32, one rounding per
  operation, with c = u * alpha (alpha = XNOR's mean |W| summed in index order, as the trainer sums it),
  scale = gamma / sqrt(var + eps), shift = beta - mean * scale: the expression the converter folds into
  integer thresholds, so sign() here is the runtime's threshold compare on every accumulator.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

F32 = torch.float32


def sign(x):
    """BitShield's sign: +1 for x >= 0 (so sign(0) = +1, unlike torch.sign), -1 otherwise (NaN too)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class SignSTE(torch.autograd.Function):
    """sign() with the straight-through estimator of Hubara et al. 2016: gradient 1 for |x| <= 1, else 0
    (Sources/Trainer/Quantizers/Sign.swift)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class _WeightSign(torch.autograd.Function):
    """sign(W) of latent weights; the gradient passes unchanged (BinaryNet.pytorch), the latent weights
    being clipped to [-1, 1] after each step (clip_)."""

    @staticmethod
    def forward(ctx, w):
        return sign(w)

    @staticmethod
    def backward(ctx, g):
        return g


def pixels_of(x):
    """The 8-bit pixels the trainer's quantizer sees for inputs x on the [0, 1] scale: x * 255 (float32)
    rounded half away from zero (Swift's rounded()), clamped to [0, 255]."""
    y = x.to(F32) * 255
    f = torch.floor(y)
    r = torch.where(y - f >= 0.5, f + 1, f)
    return r.clamp(0, 255)


def code_unit(bits):
    """The value of one code unit (InputQuantizer.scale): 2^(8 - bits) / 510 in float32, 1/255 for 8 bits."""
    if bits == 8:
        return float(np.float32(1) / np.float32(255))
    return float(np.float32(1 << (8 - bits)) / np.float32(510))


def code_table(bits):
    """Pixel -> code (ModelFormat's InputCodes): 2 * (p >> (8 - bits)) + 1, or p for 8 bits."""
    p = np.arange(256)
    return torch.tensor(p if bits == 8 else 2 * (p >> (8 - bits)) + 1, dtype=F32)


class _Quantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, table, inverse):
        ctx.inverse = inverse
        return table[pixels_of(x).long()]

    @staticmethod
    def backward(ctx, g):
        # Straight through in value space: d value / d input = 1, so dL/dinput = dL/dcode / unit.
        return g * ctx.inverse, None, None


class InputQuantizer(nn.Module):
    """The paper's Eq. 2 at `bits` bits (1..8), emitting integer codes (value = code * unit); the first
    weight layer scales by the unit. Backward: straight through (dL/dx = dL/dcode / unit)."""

    def __init__(self, bits):
        super().__init__()
        if not 1 <= bits <= 8:
            raise ValueError("input bits %r outside 1...8" % (bits,))
        self.bits = bits
        self.unit = code_unit(bits)
        self.register_buffer("table", code_table(bits), persistent=False)

    def forward(self, x):
        inverse = float(np.float32(1) / np.float32(self.unit))
        return _Quantize.apply(x, self.table, inverse)

    def extra_repr(self):
        return "bits=%d, unit=%r" % (self.bits, self.unit)


def xnor_alpha_exact(w):
    """XNOR-Net's alpha_o = mean_i |W_oi| as the trainer computes it: a float32 sum in index order, then
    divided by the fan-in (WeightQuantizer.xnorScales). Returned as a float32 tensor, no gradient."""
    a = np.abs(w.detach().cpu().numpy().astype(np.float32))
    s = np.zeros(a.shape[0], dtype=np.float32)
    for i in range(a.shape[1]):
        s += a[:, i]
    return torch.from_numpy(s / np.float32(a.shape[1])).to(w.device)


def _output_scales(module):
    """c per output (None when every c is 1) of a BitLinear or BitConv2d: input_scale * alpha, or input_scale.
    In eval mode XNOR's alpha takes the trainer's value exactly (exact + 0), with the mean's gradient."""
    if module.kind == "xnor":
        w = module.weight.reshape(module.weight.shape[0], -1)
        alpha = w.abs().mean(dim=1)
        if not module.training:
            alpha = xnor_alpha_exact(w) + (alpha - alpha.detach())
        return torch.tensor(module.input_scale, dtype=F32) * alpha
    if module.input_scale != 1:
        return torch.full((module.weight.shape[0],), module.input_scale, dtype=F32)
    return None


def _check_kind(kind, bias):
    if kind not in ("float", "binary", "xnor"):
        raise ValueError("weight kind %r is not float, binary or xnor" % (kind,))
    if bias and kind != "float":
        raise ValueError("a binary or XNOR layer has no bias (BatchNorm's shift takes its place)")


class BitLinear(nn.Module):
    """A dense layer with float, binary (sign(W)) or XNOR (alpha * sign(W)) weights, `[out, in]` latent
    weights as PyTorch's nn.Linear, computing y = (x S^T) * c (+ bias) in that order (WeightedProduct.swift),
    c = input_scale * alpha. Binary and XNOR layers never binarize their input: a SignSTE before them does."""

    def __init__(self, inputs, outputs, kind="binary", bias=False, input_scale=1.0):
        super().__init__()
        _check_kind(kind, bias)
        self.kind = kind
        self.inputs, self.outputs = inputs, outputs
        self.input_scale = input_scale
        # Eval mode sums float layers in infer's order (exact scores, slow); fast_() turns it off.
        self.exact_order = True
        bound = 1 / np.sqrt(inputs)
        self.weight = nn.Parameter(torch.empty(outputs, inputs).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(outputs).uniform_(-bound, bound)) if bias else None

    def output_scales(self):
        return _output_scales(self)

    def forward(self, x):
        w = self.weight if self.kind == "float" else _WeightSign.apply(self.weight)
        c = self.output_scales()
        if self.kind == "float" and not self.training and self.exact_order:
            # infer's order, so float layers give the runtime's scores too (the bias after the whole sum).
            if c is None:
                return infer_order_linear(x, w, self.bias)
            y = infer_order_linear(x, w)
        else:
            y = x.matmul(w.t())
        if c is not None:
            y = y * c
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return "%d -> %d, %s, bias=%s, input_scale=%r" % (self.inputs, self.outputs, self.kind,
                                                         self.bias is not None, self.input_scale)


class BitConv2d(nn.Module):
    """A valid (unpadded), stride-1 convolution on NHWC maps `[N, H, W, C]` with `[out, k, k, in]` latent
    weights (the trainer's order; PyTorch's `[out, in, k, k]` permuted), float, binary or XNOR (alpha per
    output channel), y = (x * S) * c (Conv2D.swift). Binary and XNOR sums are exact integers; a float
    convolution is summed in PyTorch's order (FORMAT.md's tolerance)."""

    def __init__(self, inputs, outputs, kernel=3, kind="binary", input_scale=1.0):
        super().__init__()
        _check_kind(kind, False)
        self.kind, self.kernel, self.input_scale = kind, kernel, input_scale
        bound = 1 / np.sqrt(kernel * kernel * inputs)
        self.weight = nn.Parameter(torch.empty(outputs, kernel, kernel, inputs).uniform_(-bound, bound))

    def output_scales(self):
        return _output_scales(self)

    def forward(self, x):
        w = self.weight if self.kind == "float" else _WeightSign.apply(self.weight)
        y = F.conv2d(x.permute(0, 3, 1, 2), w.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        c = self.output_scales()
        return y * c if c is not None else y

    def extra_repr(self):
        return "%d -> %d, %dx%d, %s, input_scale=%r" % (self.weight.shape[3], self.weight.shape[0], self.kernel,
                                                       self.kernel, self.kind, self.input_scale)


class MaxPool(nn.Module):
    """Max-pooling of NHWC maps over s x s windows, stride s, the last H mod s rows and W mod s columns dropped."""

    def __init__(self, size=2):
        super().__init__()
        self.size = size

    def forward(self, x):
        return F.max_pool2d(x.permute(0, 3, 1, 2), self.size, self.size).permute(0, 2, 3, 1)


class BatchNorm(nn.Module):
    """BatchNorm1d as the trainer uses it (BatchNorm.swift): eps 1e-5, momentum 0.1, biased batch variance
    for normalizing and unbiased for the running estimate; evaluation is x * scale + shift with
    scale = gamma / sqrt(running_var + eps) and shift = beta - running_mean * scale (two roundings), the
    form the model file stores. Tensors: weight (gamma), bias (beta), running_mean, running_var."""

    def __init__(self, features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.features, self.eps, self.momentum = features, eps, momentum
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))

    def affine(self):
        """The evaluation-mode (scale, shift), float32, as BatchNorm.evalAffine computes them. The values
        come from numpy (correctly rounded sqrt and division, as Swift's; torch's vectorized sqrt may differ
        by an ulp), the gradient from the same expression in torch."""
        eps = torch.tensor(self.eps, dtype=F32)
        scale = self.weight / torch.sqrt(self.running_var + eps)
        shift = self.bias - self.running_mean * scale
        g, b = self.weight.detach().cpu().numpy(), self.bias.detach().cpu().numpy()
        m, v = self.running_mean.cpu().numpy(), self.running_var.cpu().numpy()
        s = g / np.sqrt(v + np.float32(self.eps))
        t = b - m * s
        exact = lambda a, like: torch.from_numpy(np.asarray(a, dtype=np.float32)).to(like.device) + (like - like.detach())
        return exact(s, scale), exact(t, shift)

    def forward(self, x):
        if self.training:   # over NHWC maps: per channel, the batch viewed as [N*H*W, C] (BatchNorm2d)
            y = F.batch_norm(x.reshape(-1, self.features), self.running_mean, self.running_var, self.weight,
                             self.bias, True, self.momentum, self.eps)
            return y.reshape(x.shape)
        scale, shift = self.affine()
        return x * scale + shift

    def extra_repr(self):
        return "%d, eps=%g, momentum=%g" % (self.features, self.eps, self.momentum)


class _Sign(nn.Module):
    def forward(self, x):
        return SignSTE.apply(x)


class Net(nn.Module):
    """BitShield's networks (Network.swift). The input quantizer; for a conv net, per entry of conv_channels
    convI (k x k, valid) -> max-pool 2 -> convbnI -> activation on NHWC maps; then per hidden width
    fcI (no bias) -> bnI -> activation -> dropout; then fcL -> bnL whose outputs are the scores. Activations:
    sign (SignSTE) for binary and XNOR, hardtanh or relu for float. With float_last_layer (binary and XNOR
    only) the last hidden block ends in hardtanh and fcL is a float layer with a bias and no BatchNorm.
    The first weight layer scales by the quantizer's code unit. Parameter names are the checkpoint's
    (conv0.weight, convbn0.*, fc0.weight, bn0.weight, bn0.bias, bn0.running_mean, ...); `config` is the
    checkpoint's `model` JSON."""

    def __init__(self, hidden, precision="binary", input_bits=2, input=(28, 28, 1), classes=10,
                 activation="hardtanh", dropout=0.2, float_last_layer=False, conv_channels=(), kernel=3):
        super().__init__()
        if precision not in ("float", "binary", "xnor"):
            raise ValueError("precision %r is not float, binary or xnor" % (precision,))
        if activation not in ("hardtanh", "relu"):
            raise ValueError("activation %r is not hardtanh or relu" % (activation,))
        if float_last_layer and precision == "float":
            raise ValueError("float_last_layer applies to binary and XNOR networks only")
        conv_channels = [int(c) for c in conv_channels]
        if (not hidden and not conv_channels) or any(int(h) <= 0 for h in list(hidden) + conv_channels):
            raise ValueError("hidden widths %r and conv channels %r must be positive (an FCN needs a hidden layer)"
                             % (hidden, conv_channels))
        self.config = {
            "architecture": "conv" if conv_channels else "fcn",
            "input": {"height": int(input[0]), "width": int(input[1]), "channels": int(input[2])},
            "conv_channels": conv_channels, "kernel": int(kernel), "hidden": [int(h) for h in hidden],
            "classes": int(classes), "precision": precision, "input_bits": int(input_bits), "activation": activation,
            "dropout": float(dropout), "float_last_layer": bool(float_last_layer),
        }
        self.input_shape = tuple(int(v) for v in input)
        self.quant = InputQuantizer(input_bits)
        binary = precision != "float"

        def act():
            if binary:
                return _Sign()
            return nn.ReLU() if activation == "relu" else nn.Hardtanh()

        self.convs = []
        h, w, c = self.input_shape
        for i, out in enumerate(conv_channels):
            conv = BitConv2d(c, out, kernel, precision, input_scale=self.quant.unit if i == 0 else 1.0)
            h, w, c = (h - kernel + 1) // 2, (w - kernel + 1) // 2, out
            if h < 1 or w < 1:
                raise ValueError("%dx%d input is too small for %d conv blocks" % (input[0], input[1], len(conv_channels)))
            bn, a = BatchNorm(out), act()
            self.add_module("conv%d" % i, conv)
            self.add_module("pool%d" % i, MaxPool(2))
            self.add_module("convbn%d" % i, bn)
            self.add_module("convact%d" % i, a)
            self.convs.append((conv, getattr(self, "pool%d" % i), bn, a))
        widths = [h * w * c] + list(hidden)
        self.blocks = []
        for i in range(len(hidden)):
            fc = BitLinear(widths[i], widths[i + 1], precision, bias=False,
                           input_scale=self.quant.unit if i == 0 and not conv_channels else 1.0)
            bn = BatchNorm(widths[i + 1])
            last_hidden = i == len(hidden) - 1
            a = nn.Hardtanh() if binary and float_last_layer and last_hidden else act()
            drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
            self.add_module("fc%d" % i, fc)
            self.add_module("bn%d" % i, bn)
            self.add_module("act%d" % i, a)
            self.add_module("drop%d" % i, drop)
            self.blocks.append((fc, bn, a, drop))
        last = len(hidden)
        self.add_module("fc%d" % last, BitLinear(widths[last], classes, "float" if float_last_layer else precision,
                                                 bias=float_last_layer,
                                                 input_scale=self.quant.unit if last == 0 and not conv_channels else 1.0))
        if not float_last_layer:
            self.add_module("bn%d" % last, BatchNorm(classes))

    @property
    def fc_last(self):
        return getattr(self, "fc%d" % len(self.blocks))

    @property
    def bn_last(self):
        return getattr(self, "bn%d" % len(self.blocks), None)

    def forward(self, x):
        n = x.shape[0]
        h = self.quant(x.reshape((n,) + self.input_shape))     # NHWC
        for conv, pool, bn, act in self.convs:
            h = act(bn(pool(conv(h))))
        h = h.reshape(n, -1)
        for fc, bn, act, drop in self.blocks:
            h = drop(act(bn(fc(h))))
        h = self.fc_last(h)
        return self.bn_last(h) if self.bn_last is not None else h

    def named_tensors(self):
        """The checkpoint's tensors: every parameter and BatchNorm statistic under the trainer's name."""
        wanted = ("weight", "bias", "running_mean", "running_var")
        out = [(n, t) for n, t in self.named_parameters()]
        out += [(n, t) for n, t in self.named_buffers() if n.rsplit(".", 1)[-1] in wanted]
        return out


class FCN(Net):
    """BitShield's fully connected network (FCN2 is FCN([600] * 4)); see Net."""

    def __init__(self, hidden, precision="binary", input_bits=2, input=(28, 28, 1), classes=10,
                 activation="hardtanh", dropout=0.2, float_last_layer=False):
        super().__init__(hidden, precision, input_bits, input, classes, activation, dropout, float_last_layer)


class ConvNet(Net):
    """BitShield's conv net (`train --arch conv`: conv 32, conv 64, dense 512 by default); see Net."""

    def __init__(self, conv_channels=(32, 64), hidden=(512,), kernel=3, precision="binary", input_bits=2,
                 input=(28, 28, 1), classes=10, activation="hardtanh", dropout=0.2, float_last_layer=False):
        super().__init__(list(hidden), precision, input_bits, input, classes, activation, dropout, float_last_layer,
                         conv_channels=conv_channels, kernel=kernel)


def clip_(model):
    """Clips every binary and XNOR layer's latent weights to [-1, 1], as the trainer does after each step
    (WeightQuantizer.clip); call it after optimizer.step()."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (BitLinear, BitConv2d)) and m.kind != "float":
                m.weight.clamp_(-1, 1)


def fast_(model, fast=True):
    """Float BitLinear layers use a plain matmul in eval mode instead of infer's summation order: the same
    function in real arithmetic and the same gradient, scores within FORMAT.md's float tolerance, and
    many times faster (for attacks whose images are scored by `infer` anyway). fast_(model, False) undoes it."""
    for m in model.modules():
        if isinstance(m, BitLinear):
            m.exact_order = not fast
    return model


def infer_order_linear(x, w, bias=None):
    """x [N, n] times w [m, n]^T (+ bias) summed in `infer`'s order for float `dense` (spec/FORMAT.md,
    "Float summation order"): eight lane sums s_j over i = j, j+8, ... below 8*floor(n/8), each product
    rounded first; then -0 + s_0 + ... + s_7 left to right, then the last n mod 8 products in order, then
    + bias (or + 0). Bit for bit the runtime's scores; differentiable; slower than a matmul."""
    n = x.shape[1]
    full = 8 * (n // 8)
    lanes = torch.zeros(x.shape[0], w.shape[0], 8, dtype=x.dtype, device=x.device)
    for i in range(0, full, 8):
        lanes = lanes + x[:, None, i:i + 8] * w[None, :, i:i + 8]
    s = torch.full((x.shape[0], w.shape[0]), -0.0, dtype=x.dtype, device=x.device)
    for j in range(8):
        s = s + lanes[:, :, j]
    for i in range(full, n):
        s = s + x[:, i:i + 1] * w[None, :, i]
    return s + (bias if bias is not None else torch.zeros((), dtype=x.dtype))
