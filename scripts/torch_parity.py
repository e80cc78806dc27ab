#!/usr/bin/env python3
"""Writes PyTorch reference values for BitShield's layers to a safetensors file.

Usage: torch_parity.py OUT.safetensors

Each case stores its inputs, weights and upstream gradient (dy) and PyTorch's outputs and gradients,
under names `<case>.<tensor>`; Tests/TrainerTests/TorchParityTests.swift runs BitShield's layers on
the same inputs and compares. The BNN pieces (sign with sign(0) = +1, straight-through estimators,
BinaryLinear) are the ones of bench/peer_torch_fcn.py, so the benchmark peer is what is checked.
Whole networks take their input as BitShield does (integer codes, the quantizer's unit applied after
the first weight layer: the same real function as Eq. 2, computed exactly), so max-pooling ties and
straight-through masks are decided identically; the quantizer itself is checked against Eq. 2.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from peer_torch_fcn import BinaryLinear, SignActSTE, SignWeightSTE, discretize  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(1)
out = {}


def put(name, t):
    out[name] = t.detach().to(torch.float32).clone().numpy()  # a copy: in-place updates must not leak in


def leaf(shape, lo=-2.0, hi=2.0, avoid=()):
    x = torch.empty(shape).uniform_(lo, hi)
    for a in avoid:  # keep clear of kinks so a straight-through mask is unambiguous
        x = torch.where((x - a).abs() < 0.05, x + 0.1, x)
    return x.requires_grad_(True)


def dense(case, binary, bias):
    x = leaf((5, 13))
    lin = (BinaryLinear if binary else nn.Linear)(13, 7, bias=bias)
    y = lin(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"{case}.x", x); put(f"{case}.w", lin.weight); put(f"{case}.dy", dy); put(f"{case}.y", y)
    put(f"{case}.dx", x.grad); put(f"{case}.dw", lin.weight.grad)
    if bias:
        put(f"{case}.b", lin.bias); put(f"{case}.db", lin.bias.grad)


def dense_xnor(case):
    """XNOR-Net linear (Rastegari et al.): y = (x @ sign(W)^T) * alpha, alpha = mean |W| per output row,
    sign straight through, alpha differentiated by autograd. Weights inside (-1, 1) as after clipping."""
    x = leaf((5, 13))
    w = torch.empty(7, 13).uniform_(-0.95, 0.95)
    w = torch.where(w.abs() < 0.05, w + 0.1, w).requires_grad_(True)
    alpha = w.abs().mean(dim=1)
    y = F.linear(x, SignWeightSTE.apply(w)) * alpha
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"{case}.x", x); put(f"{case}.w", w); put(f"{case}.dy", dy); put(f"{case}.y", y)
    put(f"{case}.dx", x.grad); put(f"{case}.dw", w.grad)


def batchnorm(case, training):
    x = leaf((8, 6))
    bn = nn.BatchNorm1d(6, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2)
    put(f"{case}.gamma", bn.weight); put(f"{case}.beta", bn.bias)
    put(f"{case}.running_mean_in", bn.running_mean); put(f"{case}.running_var_in", bn.running_var)
    bn.train(training)
    y = bn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"{case}.x", x); put(f"{case}.dy", dy); put(f"{case}.y", y); put(f"{case}.dx", x.grad)
    put(f"{case}.running_mean", bn.running_mean); put(f"{case}.running_var", bn.running_var)
    if training:
        put(f"{case}.dgamma", bn.weight.grad); put(f"{case}.dbeta", bn.bias.grad)


def elementwise(case, fn, avoid):
    x = leaf((4, 9), avoid=avoid)
    y = fn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    put(f"{case}.x", x); put(f"{case}.dy", dy); put(f"{case}.y", y); put(f"{case}.dx", x.grad)


def quantizer(bits):
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 256)
    put(f"quant{bits}.x", torch.from_numpy(pixels.astype(np.float32) / 255))
    put(f"quant{bits}.y", torch.from_numpy(discretize(pixels, bits)))


def cross_entropy():
    logits = leaf((6, 10))
    labels = torch.tensor([0, 3, 9, 1, 1, 7])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    put("ce.logits", logits); put("ce.labels", labels.float()); put("ce.loss", loss.reshape(1))
    put("ce.dlogits", logits.grad)


def codes_and_scale(pixels_u8, bits):
    """BitShield's exact form of Eq. 2: integer codes (2q + 1, or the pixel at 8 bits) and the unit they
    are multiplied by after the first weight layer (InputQuantizer.swift)."""
    p = pixels_u8.astype(np.int64)
    if bits == 8:
        return p.astype(np.float32), 1.0 / 255
    return (2 * (p >> (8 - bits)) + 1).astype(np.float32), float(1 << (8 - bits)) / 510


def exact_input(pixels_u8, bits):
    """A value-space leaf x (= Eq. 2 / 255 in gradient terms) and the codes the first layer sees: the
    codes are exact integers forward, and d codes / d x = 1 / scale backward (straight through)."""
    codes, scale = codes_and_scale(pixels_u8, bits)
    x = torch.from_numpy(codes * np.float32(scale)).requires_grad_(True)
    c = torch.from_numpy(codes) + (x - x.detach()) / scale
    return x, c, scale


class Scaled(nn.Module):
    """Multiplies a layer's output by the input quantizer's unit (float32, after the product)."""

    def __init__(self, layer, scale):
        super().__init__()
        self.layer, self.scale = layer, torch.tensor(scale, dtype=torch.float32)

    def forward(self, x):
        return self.layer(x) * self.scale


def network(case, binary):
    """A small FCN (20-12-12-5) in training mode with dropout off: logits, loss, every gradient."""
    widths = [20, 12, 12, 5]
    layers = []
    for i in range(len(widths) - 1):
        layers.append((BinaryLinear if binary else nn.Linear)(widths[i], widths[i + 1], bias=False))
        layers.append(nn.BatchNorm1d(widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(SignAct() if binary else nn.Hardtanh())
    pixels = torch.randint(0, 256, (16, 20), dtype=torch.uint8).numpy()
    x, codes, scale = exact_input(pixels, 2 if binary else 8)
    layers[0] = Scaled(layers[0], scale)
    model = nn.Sequential(*layers).train()
    labels = torch.randint(0, 5, (16,))
    logits = model(codes)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    put(f"{case}.pixels", torch.from_numpy(pixels.astype(np.float32)))
    put(f"{case}.labels", labels.float()); put(f"{case}.logits", logits); put(f"{case}.loss", loss.reshape(1))
    put(f"{case}.dx", x.grad)
    dense_i = bn_i = 0
    for m in model:
        m = m.layer if isinstance(m, Scaled) else m
        if isinstance(m, nn.Linear):
            put(f"{case}.fc{dense_i}.weight", m.weight); put(f"{case}.fc{dense_i}.weight.grad", m.weight.grad)
            dense_i += 1
        elif isinstance(m, nn.BatchNorm1d):
            put(f"{case}.bn{bn_i}.weight.grad", m.weight.grad); put(f"{case}.bn{bn_i}.bias.grad", m.bias.grad)
            put(f"{case}.bn{bn_i}.running_mean", m.running_mean); put(f"{case}.bn{bn_i}.running_var", m.running_var)
            bn_i += 1


class SignAct(nn.Module):
    def forward(self, x):
        return SignActSTE.apply(x)


class BinaryConv2d(nn.Conv2d):
    """Conv2d using sign(W) of latent weights, straight through (as BinaryNet.pytorch's BinarizeConv2d)."""

    def forward(self, x):
        return F.conv2d(x, SignWeightSTE.apply(self.weight), None, self.stride, self.padding)


class ToNHWCFlat(nn.Module):
    """Flattens NCHW maps in BitShield's NHWC order, so dense weights line up."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def convnet(case, binary):
    """8x8x2 input: conv 3 (2x2) -> pool -> BN -> act -> conv 4 (2x2) -> pool -> BN -> act -> dense 6 -> BN -> act -> dense 3 -> BN."""
    Conv = BinaryConv2d if binary else nn.Conv2d
    Lin = BinaryLinear if binary else nn.Linear
    act = (lambda: SignAct()) if binary else (lambda: nn.Hardtanh())
    pixels = torch.randint(0, 256, (10, 8, 8, 2), dtype=torch.uint8).numpy()   # NHWC
    x, codes, scale = exact_input(pixels, 2 if binary else 8)
    model = nn.Sequential(
        Scaled(Conv(2, 3, 2, bias=False), scale), nn.MaxPool2d(2), nn.BatchNorm2d(3), act(),
        Conv(3, 4, 2, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(4), act(),
        ToNHWCFlat(), Lin(4, 6, bias=False), nn.BatchNorm1d(6), act(),
        Lin(6, 3, bias=False), nn.BatchNorm1d(3)).train()
    labels = torch.randint(0, 3, (10,))
    logits = model(codes.permute(0, 3, 1, 2))
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    put(f"{case}.pixels", torch.from_numpy(pixels.reshape(10, -1).astype(np.float32)))
    put(f"{case}.labels", labels.float()); put(f"{case}.logits", logits); put(f"{case}.loss", loss.reshape(1))
    put(f"{case}.dx", x.grad.reshape(10, -1))
    names = {0: "conv0", 4: "conv1", 9: "fc0", 12: "fc1"}
    bns = {2: "convbn0", 6: "convbn1", 10: "bn0", 13: "bn1"}
    for i, m in enumerate(model):
        m = m.layer if isinstance(m, Scaled) else m
        if i in names:
            w, g = m.weight, m.weight.grad
            if w.dim() == 4:   # [out, in, kh, kw] -> BitShield's [out, kh, kw, in]
                w, g = w.permute(0, 2, 3, 1), g.permute(0, 2, 3, 1)
            put(f"{case}.{names[i]}.weight", w); put(f"{case}.{names[i]}.weight.grad", g)
        if i in bns:
            put(f"{case}.{bns[i]}.weight.grad", m.weight.grad); put(f"{case}.{bns[i]}.bias.grad", m.bias.grad)
            put(f"{case}.{bns[i]}.running_mean", m.running_mean); put(f"{case}.{bns[i]}.running_var", m.running_var)


dense("dense_float", binary=False, bias=True)
dense("dense_binary", binary=True, bias=False)
dense_xnor("dense_xnor")
batchnorm("bn_train", training=True)
batchnorm("bn_eval", training=False)
elementwise("hardtanh", nn.Hardtanh(), avoid=(-1, 1))
elementwise("relu", F.relu, avoid=(0,))
elementwise("sign", SignActSTE.apply, avoid=(-1, 1, 0))
for b in (1, 2, 3, 4, 8):
    quantizer(b)
cross_entropy()
network("net_binary", binary=True)
network("net_float", binary=False)
convnet("conv_binary", binary=True)
convnet("conv_float", binary=False)

header, offset, blobs = {"__metadata__": {"torch": torch.__version__}}, 0, []
for name in sorted(out):
    a = np.ascontiguousarray(out[name], dtype="<f4")
    header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
    offset += a.nbytes
    blobs.append(a.tobytes())
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
tmp = sys.argv[1] + ".part"
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
os.replace(tmp, sys.argv[1])
print(f"wrote {len(out)} tensors to {sys.argv[1]} (torch {torch.__version__})")
