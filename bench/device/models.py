#!/usr/bin/env python3
"""The C peers' FCN2 models (784-600-600-600-600-10) for `make bench-device`, and each one's exact host
emulation: the class and output hash the firmware must print for every test image.

    models.py OUT_DIR IMAGES [--data-dir DIR]

writes, for the first IMAGES MNIST test images (the data cache: bench/bitshield_data.py):
  images.bin                the images, 784 u8 each (run.py sends them to the board)
  model_s8.bin, model_s8.h  int8 FCN2 for CMSIS-NN (firmware/net_cmsis_s8.c); expected_s8.json
  model_bin.bin, model_bin.h binary FCN2 for the plain C peer (firmware/net_binary.c); expected_bin.json

Weights are random (seeded): instruction counts do not depend on weight values here (CMSIS-NN's and the
plain C loops are data-independent but for the first layer's bit-planes), and the agreement checks need
only an exact emulation, not accuracy.

int8 (TFLite's post-training quantization, per tensor): He-initialised float weights and small biases;
activation ranges calibrated on 200 test images (ReLU outputs: 0 .. 99.99th percentile); weights
symmetric int8 (zero point 0); int32 bias at scale s_in * s_w; input scale 1/255, zero point -128;
ReLU fused as the output clamp at the zero point -128; requantization by (multiplier, shift) from
TFLite's QuantizeMultiplier, emulated as CMSIS-NN's arm_nn_requantize (double rounding). Hidden layers
2-4 share ONE 600x600 weight matrix (biases and requantization stay per layer) so that the blob fits
the board's 1 MiB flash: distinct int8 weights alone are 1,556,400 B.

binary: BitShield's FCN2 semantics (spec/FORMAT.md), as firmware/net_binary.c describes.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bitshield_data import data_root, read_idx_gz  # noqa: E402  (bench/bitshield_data.py: the data cache rule)

SHAPE = [784, 600, 600, 600, 600, 10]
SHARED = (2, 3)          # int8 layers that reuse layer 1's 600x600 matrix (0-based: layers 3 and 4)
CALIBRATION = 200


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


class Blob:
    """A flash blob built part by part, each part aligned; remembers each part's offset."""

    def __init__(self):
        self.data = bytearray()

    def put(self, array, align=4):
        self.data.extend(bytes(-len(self.data) % align))
        offset = len(self.data)
        self.data.extend(np.ascontiguousarray(array).tobytes())
        return offset


# ---- int8 ----

def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier: real = q * 2^(shift - 31), q in [2^30, 2^31)."""
    if real == 0:
        return 0, 0
    fraction, shift = math.frexp(real)
    q = int(round(fraction * (1 << 31)))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if not -31 <= shift <= 30:
        raise ValueError(f"requantization scale {real} needs shift {shift}, outside [-31, 30]")
    return q, shift


def wrap32(x):
    return ((x + (1 << 31)) % (1 << 32)) - (1 << 31)


def requantize(acc, multiplier, shift):
    """CMSIS-NN's arm_nn_requantize (default build): doubling high multiply without saturation, then a
    rounding right shift (midpoints away from zero), on int64 arrays holding int32 values."""
    left, right = max(shift, 0), max(-shift, 0)
    x = wrap32(acc.astype(np.int64) << left)
    high = wrap32((x * multiplier + (1 << 30)) >> 31)
    if right == 0:
        return high
    mask = (1 << right) - 1
    result = high >> right
    threshold = (mask >> 1) + (result < 0)
    return result + ((high & mask) > threshold)


def s8_model(rng, calibration):
    floats = []
    for l in range(5):
        if l in SHARED:
            floats.append(floats[1])
        else:
            floats.append(rng.normal(0, math.sqrt(2.0 / SHAPE[l]), size=(SHAPE[l + 1], SHAPE[l])).astype(np.float32))
    biases = [rng.normal(0, 0.05, size=SHAPE[l + 1]).astype(np.float32) for l in range(5)]
    x, ranges = calibration.astype(np.float32) / 255.0, []
    for l in range(5):
        z = x @ floats[l].T + biases[l]
        if l < 4:
            z = np.maximum(z, 0)
            ranges.append((0.0, float(np.percentile(z, 99.99))))
        else:
            ranges.append((min(float(z.min()), 0.0), max(float(z.max()), 0.0)))
        x = z
    layers, s_in, zp_in, weights = [], 1.0 / 255.0, -128, {}
    for l in range(5):
        s_w = float(np.abs(floats[l]).max()) / 127
        key = 1 if l in SHARED else l
        if key not in weights:
            weights[key] = np.clip(np.round(floats[l] / s_w), -127, 127).astype(np.int8)
        lo, hi = ranges[l]
        s_out = (hi - lo) / 255.0
        zp_out = -128 if l < 4 else int(round(-128 - lo / s_out))
        multiplier, shift = quantize_multiplier(s_in * s_w / s_out)
        layers.append(dict(w=weights[key], key=key, b=np.round(biases[l] / (s_in * s_w)).astype(np.int32),
                           input_offset=-zp_in, output_offset=zp_out, multiplier=multiplier, shift=shift))
        s_in, zp_in = s_out, zp_out
    return layers


def s8_forward(layers, images):
    x = images.astype(np.int64) - 128
    for layer in layers:
        acc = (x + layer["input_offset"]) @ layer["w"].astype(np.int64).T + layer["b"].astype(np.int64)
        x = np.clip(requantize(acc, layer["multiplier"], layer["shift"]) + layer["output_offset"], -128, 127)
    out = x.astype(np.int8)
    return np.argmax(out, axis=1), [fnv1a(o.tobytes()) for o in out]


def write_s8(out, layers, images):
    blob, weight_at, rows = Blob(), {}, []
    for layer in layers:
        if layer["key"] not in weight_at:
            weight_at[layer["key"]] = blob.put(layer["w"], 16)
        bias = blob.put(layer["b"].astype("<i4"))
        rows.append((layer["w"].shape[1], layer["w"].shape[0], weight_at[layer["key"]], bias,
                     layer["input_offset"], layer["output_offset"], layer["multiplier"], layer["shift"]))
    distinct = sum(SHAPE[l] * SHAPE[l + 1] + 4 * SHAPE[l + 1] for l in range(5))
    with open(os.path.join(out, "model_s8.bin"), "wb") as f:
        f.write(blob.data)
    with open(os.path.join(out, "model_s8.h"), "w") as f:
        f.write("// generated by bench/device/models.py: int8 FCN2, hidden layers 2-4 share one 600x600 matrix\n")
        f.write(f"#define MODEL_BLOB_BYTES {len(blob.data)}\n#define S8_LAYER_COUNT 5\n#define S8_LAYERS {{ \\\n")
        f.write("".join("    {" + ", ".join(str(v) for v in r) + "}, \\\n" for r in rows) + "}\n")
    classes, hashes = s8_forward(layers, images)
    return dict(model_bytes=len(blob.data), model_bytes_distinct=distinct,
                classes=[int(c) for c in classes], hashes=hashes)


# ---- binary ----

def bin_model(rng):
    weights = [rng.integers(0, 2, size=(SHAPE[l + 1], SHAPE[l]), dtype=np.uint8) for l in range(5)]   # 1 = -1
    thresholds = [np.round(rng.normal(0, 20 if l == 0 else 8, SHAPE[l + 1])).astype(np.int32) for l in range(4)]
    flips = [(rng.random(SHAPE[l + 1]) < 0.1).astype(np.uint8) for l in range(4)]
    affine = np.concatenate([[1.0 / 600], rng.uniform(0.5, 1.5, 10), rng.normal(0, 0.1, 10)]).astype(np.float32)
    return weights, thresholds, flips, affine


def bin_forward(model, images):
    weights, thresholds, flips, affine = model
    x = 2 * (images.astype(np.int64) >> 6) + 1
    for l in range(5):
        a = x @ (1 - 2 * weights[l].astype(np.int64)).T
        if l < 4:
            x = np.where((a >= thresholds[l]) != (flips[l] == 1), 1, -1)
    c, scale, shift = affine[0], affine[1:11], affine[11:21]
    y = (a.astype(np.float32) * c).astype(np.float32) * scale + shift   # float32 at every step, no fusing
    return np.argmax(y, axis=1), [fnv1a(s.astype("<i4").tobytes()) for s in a]


def pack_rows(bits):
    """Rows of 0/1 into little-endian u32 words, LSB first, padding bits 0."""
    rows, n = bits.shape
    padded = np.zeros((rows, -(-n // 32) * 32), np.uint64)
    padded[:, :n] = bits
    return (padded.reshape(rows, -1, 32) << np.arange(32, dtype=np.uint64)).sum(axis=2).astype("<u4")


def write_bin(out, model, images):
    weights, thresholds, flips, affine = model
    blob = Blob()
    w = [blob.put(pack_rows(weights[l])) for l in range(5)]
    minus = blob.put(weights[0].sum(axis=1).astype("<u2"))
    t = [blob.put(thresholds[l].astype("<i4")) for l in range(4)]
    fl = [blob.put(flips[l], 1) for l in range(4)]
    af = blob.put(affine.astype("<f4"))
    with open(os.path.join(out, "model_bin.bin"), "wb") as f:
        f.write(blob.data)
    with open(os.path.join(out, "model_bin.h"), "w") as f:
        f.write("// generated by bench/device/models.py: binary FCN2, rows in 32-bit words\n")
        f.write(f"#define MODEL_BLOB_BYTES {len(blob.data)}\n")
        f.write(f"static const uint32_t BIN_WEIGHTS[5] = {{{', '.join(map(str, w))}}};\n")
        f.write(f"static const uint32_t BIN_THRESHOLDS[4] = {{{', '.join(map(str, t))}}};\n")
        f.write(f"static const uint32_t BIN_FLIPS[4] = {{{', '.join(map(str, fl))}}};\n")
        f.write(f"#define BIN_MINUS_ONES {minus}\n#define BIN_AFFINE {af}\n")
    classes, hashes = bin_forward(model, images)
    return dict(model_bytes=len(blob.data), model_bytes_distinct=len(blob.data),
                classes=[int(c) for c in classes], hashes=hashes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("images", type=int)
    ap.add_argument("--data-dir")
    a = ap.parse_args()
    mnist = os.path.join(data_root(a.data_dir), "mnist")
    path = os.path.join(mnist, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found: run `make data` (or set BITSHIELD_DATA)")
    test = read_idx_gz(path).reshape(-1, 784)
    if not 1 <= a.images <= len(test):
        sys.exit(f"error: {a.images} images asked for; the MNIST test set has {len(test)}")
    images = test[:a.images]
    os.makedirs(a.out, exist_ok=True)
    images.tofile(os.path.join(a.out, "images.bin"))
    for name, make in (("s8", lambda: write_s8(a.out, s8_model(np.random.default_rng(1), test[:CALIBRATION]), images)),
                       ("bin", lambda: write_bin(a.out, bin_model(np.random.default_rng(3)), images))):
        expected = make()
        with open(os.path.join(a.out, f"expected_{name}.json"), "w") as f:
            json.dump(expected, f)
        print(f"models: {name} blob {expected['model_bytes']} B, class histogram "
              f"{np.bincount(expected['classes'], minlength=10).tolist()}")


if __name__ == "__main__":
    main()
