"""`.bsm` model files (spec/FORMAT.md) as PyTorch modules: the exact runtime semantics in the forward
pass, and a documented surrogate gradient where the file has only signs and integer thresholds.

Forward (bit for bit `infer`'s for binary and XNOR layers): input codes, binary dense / conv2d as exact
integer sums, threshold_sign as the integer compare (A >= t) != flip, affine as ((A * c) * scale) + shift
in float32, hardtanh, relu, max-pool; float dense in `infer`'s summation order (bit for bit too),
float conv2d in PyTorch's order (within the tolerance spec/FORMAT.md states for other orders).

Backward (the surrogate; the .bsm keeps no latent weights and no BatchNorm scale):
- input_codes: straight through in value space, d code / d x = 1 / u (the trainer's rule);
- threshold_sign: the step at t is taken as hardtanh((A - t + 1/2) / w) with the flip's sign, so its
  gradient is +-1/w for |A - t + 1/2| <= w and 0 beyond, w = sqrt(fan-in * V) (V = 1 for +-1 inputs, the
  largest code over 2 for codes: the spread of a sum of fan-in such terms); a constant channel
  (t = -2^31) passes no gradient;
- dense, conv2d, affine, hardtanh, relu, max-pool: their exact derivatives.
"""
import hashlib
import json
import math
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import _Quantize, code_table, code_unit, infer_order_linear

F32 = torch.float32
OPS = {1: "input_codes", 2: "dense", 3: "conv2d", 4: "maxpool2d", 5: "threshold_sign", 6: "affine",
       7: "hardtanh", 8: "relu", 9: "argmax"}


def read_container(data, path="model"):
    """(metadata dict, image bytes) of a .bsm file, checked as the spec says (magic, version, sizes, CRCs,
    SHA-256, one zlib stream)."""
    def fail(why):
        return ValueError("%s: %s" % (path, why))
    if len(data) < 64 or data[:4] != b"BSM1":
        raise fail("not a .bsm file (magic %r, %d bytes)" % (bytes(data[:4]), len(data)))
    ver, flags, mb, mcrc, sb, scrc, ib, icrc = struct.unpack_from("<HHIIIIII", data, 4)
    if ver != 1 or flags & ~1:
        raise fail("container version %d flags %#x (this reader knows version 1, flag bit 0)" % (ver, flags))
    if len(data) != 64 + mb + sb or mb > 1 << 20 or ib > 64 << 20:
        raise fail("file has %d bytes, header says 64 + %d + %d (image %d)" % (len(data), mb, sb, ib))
    meta, stored = data[64:64 + mb], data[64 + mb:]
    if zlib.crc32(meta) != mcrc or zlib.crc32(stored) != scrc:
        raise fail("CRC-32 mismatch")
    if flags & 1:
        d = zlib.decompressobj()
        image = d.decompress(stored, ib + 1)
        if not d.eof or d.unused_data or len(image) != ib:
            raise fail("stored bytes are not exactly one zlib stream of %d bytes" % ib)
    else:
        image = stored
    if zlib.crc32(image) != icrc or hashlib.sha256(image).digest() != data[32:64]:
        raise fail("image checksum mismatch")
    m = json.loads(meta)
    if not isinstance(m, dict) or m.get("format") != "bitshield.model":
        raise fail("metadata 'format' is not 'bitshield.model'")
    return m, bytes(image)


class _Image:
    def __init__(self, b, path):
        if b[:4] != b"BSMI":
            raise ValueError("%s: image magic %r" % (path, b[:4]))
        (self.version, hb, size, flags, self.h, self.w, self.c, self.classes, nops, nt, opoff, toff) = \
            struct.unpack_from("<HHIIHHHHHHII", b, 4)
        if not 1 <= self.version <= 3 or hb != 64 or size != len(b) or flags:
            raise ValueError("%s: image version %d header %d size %d/%d flags %d" % (path, self.version, hb, size, len(b), flags))
        self.b = b
        self.tensors = []
        for i in range(nt):
            typ, rank, d0, d1, d2, d3, off, nbytes, _ = struct.unpack_from("<HHIIIIIII", b, toff + 32 * i)
            if off + nbytes > size:
                raise ValueError("%s: tensor %d ends at %d, image has %d bytes" % (path, i, off + nbytes, size))
            self.tensors.append((typ, [d0, d1, d2, d3][:rank], off, nbytes))
        self.ops = [(struct.unpack_from("<H", b, opoff + 64 * k)[0], list(struct.unpack_from("<15I", b, opoff + 64 * k + 4)))
                    for k in range(nops)]

    def array(self, i, typ, dtype):
        t, dims, off, nbytes = self.tensors[i]
        if t != typ:
            raise ValueError("tensor %d has type %d, expected %d" % (i, t, typ))
        return np.frombuffer(self.b, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize, offset=off).copy()

    def floats(self, i):
        return torch.from_numpy(self.array(i, 3, "<f4"))

    def signs(self, i):
        """+-1 weights (float32) of a bits, bits8 or columns32 tensor, [rows, n] (rows = product of the
        leading dims)."""
        typ, dims, off, nbytes = self.tensors[i]
        n, rows = dims[-1], int(np.prod(dims[:-1]))
        if typ == 6:   # columns32: lanes[g][i] bit k = row 32g + k, column i
            groups = (rows + 31) // 32
            lanes = np.frombuffer(self.b, dtype="<u4", count=groups * n, offset=off)
            bits = np.unpackbits(lanes.view(np.uint8).reshape(groups, n, 4), axis=2, bitorder="little")
            bits = bits.transpose(0, 2, 1).reshape(groups * 32, n)[:rows]
        elif typ in (4, 5):
            words = (n + 63) // 64
            w = np.frombuffer(self.b, dtype="<u8", count=nbytes // 8, offset=off)
            if typ == 5:   # bits8: word(r, j) = data[((r / 8) * W + j) * 8 + r % 8]
                w = w.reshape(-1, words, 8).transpose(0, 2, 1).reshape(-1, words)[:rows]
            w = w.reshape(rows, words)
            bits = np.unpackbits(w.view(np.uint8).reshape(rows, words * 8), axis=1, bitorder="little")[:, :n]
        else:
            raise ValueError("tensor %d of type %d holds no binary weights" % (i, typ))
        return torch.from_numpy(1 - 2 * bits.astype(np.float32))


class _ThresholdSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, t, flip, width):
        up = (a >= t) != (flip == 1)
        ctx.save_for_backward(a, t, flip)
        ctx.width = width
        return torch.where(up, torch.ones_like(a), -torch.ones_like(a))

    @staticmethod
    def backward(ctx, g):
        a, t, flip = ctx.saved_tensors
        w = ctx.width
        centre = t - 0.5
        slope = torch.where(flip == 1, -torch.ones_like(centre), torch.ones_like(centre)) / w
        live = ((a - centre).abs() <= w) & (t > -2 ** 31)
        return g * slope * live.to(g.dtype), None, None, None


class BsmModel(nn.Module):
    """A .bsm model as a module: scores [N, classes] for pixels on the [0, 1] scale, [N, H, W, C] (NHWC)
    or [N, H*W*C] (grey images: any [N, ...] of H*W values). `metadata` holds the file's JSON."""

    def __init__(self, data, path="model.bsm"):
        super().__init__()
        self.metadata, image = read_container(data, path)
        img = _Image(image, path)
        self.input_shape = (img.h, img.w, img.c)
        self.classes = img.classes
        self.steps = []
        largest = 1
        for k, (op, p) in enumerate(img.ops):
            name = OPS.get(op)
            if name is None:
                raise ValueError("%s: op %d has unknown id %d" % (path, k, op))
            if name == "input_codes":
                d = p[0]
                self.register_buffer("table", code_table(d), persistent=False)
                self.inverse = float(np.float32(1) / np.float32(code_unit(d)))
                largest = 255 if d == 8 else (1 << (d + 1)) - 1
                self.steps.append(("input_codes", None))
            elif name in ("dense", "conv2d"):
                dense = name == "dense"
                wi, kind = (p[2], p[3]) if dense else (p[5], p[6])
                binary = img.tensors[wi][0] in (4, 5, 6)
                if binary:
                    w = img.signs(wi)
                    fan_in = w.shape[1] * (1 if dense else p[3] * p[3])
                    spread = largest / 2 if kind == 1 else 1
                    width = math.sqrt(fan_in * spread)
                else:
                    w = img.floats(wi)
                    width = None
                if dense:
                    w = w.reshape(p[1], p[0])
                    bias = img.floats(p[5] - 1) if p[5] else None
                    self.steps.append(("dense", (self._buffer("w%d" % k, w), bias, width)))
                else:
                    kk, m, cc = p[3], p[4], p[2]
                    w = w.reshape(m, kk, kk, cc).permute(0, 3, 1, 2).contiguous()   # to [out, in, kh, kw]
                    self.steps.append(("conv2d", (self._buffer("w%d" % k, w), None, width)))
                largest = 1
            elif name == "maxpool2d":
                self.steps.append(("maxpool2d", p[3]))
            elif name == "threshold_sign":
                t = torch.from_numpy(img.array(p[3], 2, "<i4").astype(np.float64)).to(F32)
                flip = torch.from_numpy(img.array(p[4], 1, "u1").astype(np.float32))
                self.steps.append(("threshold_sign", (self._buffer("t%d" % k, t), self._buffer("f%d" % k, flip))))
            elif name == "affine":
                c = img.floats(p[3] - 1) if p[3] else None
                self.steps.append(("affine", (c, img.floats(p[4]), img.floats(p[5]))))
            elif name in ("hardtanh", "relu"):
                self.steps.append((name, None))
            elif name == "argmax":
                self.steps.append(("argmax", None))
        self._widths = {}

    def _buffer(self, name, value):
        self.register_buffer(name, value, persistent=False)
        return name

    def forward(self, x):
        n = x.shape[0]
        hh, ww, cc = self.input_shape
        h = x.reshape(n, hh, ww, cc)          # NHWC throughout, as the runtime
        width = None
        for kind, arg in self.steps:
            if kind == "input_codes":
                h = _Quantize.apply(h, self.table, self.inverse)
            elif kind == "dense":
                wname, bias, width = arg
                w = getattr(self, wname)
                h = h.reshape(n, -1)
                h = h.matmul(w.t()) if width is not None else infer_order_linear(h, w, bias)
                h = h.reshape(n, 1, 1, -1)
            elif kind == "conv2d":
                wname, _, width = arg
                h = F.conv2d(h.permute(0, 3, 1, 2), getattr(self, wname)).permute(0, 2, 3, 1)
            elif kind == "maxpool2d":
                h = F.max_pool2d(h.permute(0, 3, 1, 2), arg, arg).permute(0, 2, 3, 1)
            elif kind == "threshold_sign":
                t, f = (getattr(self, a) for a in arg)
                h = _ThresholdSign.apply(h, t, f, width)
            elif kind == "affine":
                c, scale, shift = arg
                if c is not None:
                    h = h * c
                h = h * scale + shift
            elif kind == "hardtanh":
                h = F.hardtanh(h)
            elif kind == "relu":
                h = F.relu(h)
            elif kind == "argmax":
                return h.reshape(n, -1)
        raise ValueError("the model has no argmax op")


def load_bsm(path):
    """A BsmModel (eval mode) from the .bsm file at `path`."""
    with open(path, "rb") as f:
        return BsmModel(f.read(), path).eval()
