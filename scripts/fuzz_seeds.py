#!/usr/bin/env python3
"""Writes the seed corpora of the reader fuzz targets (scripts/fuzz.sh) into DIR/<target>/: small valid
files of each format, so nothing large is committed. The first byte of most seeds is the target's mode
byte (see each Fuzz/*Fuzzer.swift)."""
import glob, gzip, json, os, struct, sys, zlib

out = sys.argv[1]

def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)

def safetensors(tensors, metadata=None, dtype="F32"):
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, values in tensors:
        raw = struct.pack("<%df" % len(values), *values) if dtype == "F32" else bytes(values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data

def gz(data):
    return gzip.compress(data, mtime=0)

def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)

# Model files: the golden .bsm files, and the bare images inside them (the runtime half of the target
# reads bare images).
for path in sorted(glob.glob("spec/golden/*.bsm")):
    b = open(path, "rb").read()
    put("model", os.path.basename(path), b)
    meta, stored = struct.unpack_from("<I", b, 8)[0], struct.unpack_from("<I", b, 16)[0]
    flags = struct.unpack_from("<H", b, 6)[0]
    body = b[64 + meta:64 + meta + stored]
    put("model", os.path.basename(path) + ".img", zlib.decompress(body) if flags & 1 else body)

# JSON documents.
for i, doc in enumerate([b'{"a":[1,2.5,-3e2,true,false,null,"\\u00e9\\ud83d\\ude00\\n"],"b":{}}', b'[[[[]]]]', b'"x"', b'-0.0e+1',
                         b'{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}']):
    put("json", "doc%d" % i, bytes([7]) + doc)

# Safetensors files.
put("safetensors", "basic", safetensors([("fc0.weight", [2, 3], [1, -2, 3, 4.5, 0, -0.25]), ("bn0.bias", [2], [0.5, -0.5])],
                                        {"format": "bitshield", "model": '{"a":1}'}))
put("safetensors", "empty", safetensors([], {}))
put("safetensors", "scalar", safetensors([("s", [], [7.0]), ("z", [0, 3], [])]))
put("safetensors", "u8", safetensors([("n", [4], [1, 2, 3, 4])], dtype="U8"))

# Raw IDX: mode 0 labels, 1 images, 2 a pair split after byte 4 * split.
labels = idx([3], [1, 2, 9])
images = idx([3, 2, 2], range(12))
put("idx-raw", "labels", bytes([0]) + labels)
put("idx-raw", "images", bytes([1]) + images)
put("idx-raw", "pair", bytes([2, len(images) // 4]) + images + labels)

# Gzip IDX: mode 0/1 the bytes as a gzip file; 2/3 compressed by the target in two members; 4+ with trailing bytes.
put("idx-gzip", "labels.gz", bytes([0]) + gz(labels))
put("idx-gzip", "images.gz", bytes([1]) + gz(images))
put("idx-gzip", "members.gz", bytes([1]) + gz(images[:7]) + gz(images[7:]))
put("idx-gzip", "split", bytes([3, 9]) + images)
put("idx-gzip", "trailing", bytes([5, 0x1f, 2]) + images)

# CIFAR: mode bit 0 picks CIFAR-100, bit 1 splits into two files after mode >> 2 records.
def cifar(n, fine):
    rec = b""
    for i in range(n):
        rec += (bytes([i % 20]) if fine else b"") + bytes([i % 10]) + bytes([i * 7 % 256]) * 3072
    return rec
put("cifar", "c10", bytes([0]) + cifar(2, False))
put("cifar", "c100", bytes([1]) + cifar(2, True))
put("cifar", "c10-split", bytes([2 | 1 << 2]) + cifar(2, False))

# BinaryNet: mode 0 a safetensors state dict; odd modes a described one (layers, widths, then per tensor
# a keep/drop/short/long byte and values).
w1 = [(-1.0) ** (k % 3) * 0.5 for k in range(2 * 784)]
bn = lambda i, n: [("bn%d.weight" % i, [n], [1.0] * n), ("bn%d.bias" % i, [n], [0.0] * n),
                   ("bn%d.running_mean" % i, [n], [0.1] * n), ("bn%d.running_var" % i, [n], [1.0] * n)]
state = [("fc1.weight", [2, 784], w1), ("fc1.bias", [2], [0.0, 0.1])] + bn(1, 2) + \
        [("fc2.weight", [3, 2], [1, -1, 0.5, 0.5, -2, 1]), ("fc2.bias", [3], [0, 0.1, 0.2])]
put("binarynet", "state", bytes([0]) + safetensors(state))
put("binarynet", "described", bytes([1, 0, 1, 2, 0]) + bytes(range(256)) * 4)
put("binarynet", "described3", bytes([7, 1, 3, 2, 1, 0]) + bytes(range(40, 256)) * 30)
