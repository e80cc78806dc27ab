#!/usr/bin/env python3
"""An independent reader of spec/FORMAT.md, standard library only: reads every spec/golden/*.bsm
(container, zlib, checksums, metadata, image layout), runs the 16 golden inputs through the ops as
the spec's "Semantics" section defines them, and compares spec/golden/vN-expected.json bit for bit.
It was written from the spec, not from the Swift code; GoldenTests runs it.

Float32 arithmetic: one binary32 operation is done in binary64 and rounded to binary32, which gives
the correctly rounded binary32 result for +, -, * (binary64 has more than 2*24 + 2 bits)."""
import hashlib, json, math, os, struct, sys, zlib

M64 = (1 << 64) - 1

def f32(x):
    """x rounded to the nearest binary32 (ties to even)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]

def bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]

def golden_inputs():
    state = (2026 * 0x9E3779B97F4A7C15 ^ 1 * 0xD1B54A32D192ED03) & M64
    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)
    nxt()
    return [[nxt() % 256 for _ in range(64)] for _ in range(16)]

def container(b):
    assert b[:4] == b"BSM1", "magic"
    ver, flags, mb, mcrc, sb, scrc, ib, icrc = struct.unpack_from("<HHIIIIII", b, 4)
    assert ver == 1 and flags & ~1 == 0 and len(b) == 64 + mb + sb, "container header"
    meta, stored = b[64:64 + mb], b[64 + mb:]
    assert zlib.crc32(meta) == mcrc and zlib.crc32(stored) == scrc, "CRC-32"
    if flags & 1:
        d = zlib.decompressobj()
        image = d.decompress(stored, ib + 1)
        assert d.eof and not d.unused_data and len(image) == ib, "exactly one zlib stream of image_bytes"
    else:
        image = stored
    assert zlib.crc32(image) == icrc and hashlib.sha256(image).digest() == b[32:64], "image checksums"
    m = json.loads(meta)
    assert isinstance(m, dict) and m["format"] == "bitshield.model", "metadata"
    if "image_sha256" in m:
        assert m["image_sha256"] == b[32:64].hex()
    return m, image

class Image:
    def __init__(self, b):
        assert b[:4] == b"BSMI"
        (self.version, hb, size, flags, self.h, self.w, self.c, self.classes, nops, nt, opoff, toff) = \
            struct.unpack_from("<HHIIHHHHHHII", b, 4)
        assert 1 <= self.version <= 5 and hb == 64 and size == len(b) and size % 64 == 0 and flags == 0
        assert not any(b[36:64]), "reserved"
        self.b = b
        self.tensors = []
        for i in range(nt):
            typ, rank, d0, d1, d2, d3, off, nb, res = struct.unpack_from("<HHIIIIIII", b, toff + 32 * i)
            assert res == 0 and 1 <= rank <= 4 and not any([d0, d1, d2, d3][rank:])
            self.tensors.append((typ, [d0, d1, d2, d3][:rank], off, nb))
        self.ops = [(struct.unpack_from("<H", b, opoff + 64 * k)[0], list(struct.unpack_from("<15I", b, opoff + 64 * k + 4)))
                    for k in range(nops)]
        end = 64   # parts in order, zero padding between and after
        for off, n in [(opoff, 64 * nops), (toff, 32 * nt)] + [(t[2], t[3]) for t in self.tensors]:
            assert off % 64 == 0 and off >= end and off + n <= size and not any(b[end:off]), "order of the parts"
            end = off + n
        assert not any(b[end:size])

    def values(self, i, typ, fmt, size):
        t, dims, off, nb = self.tensors[i]
        assert t == typ
        return list(struct.unpack_from("<%d%s" % (nb // size, fmt), self.b, off))

    def floats(self, i):
        v = self.values(i, 3, "f", 4)
        assert all(math.isfinite(x) for x in v), "f32 tensors are finite"
        return v

    def signs(self, i):
        """The +/-1 weights of a bits, bits8, columns32 or columns32s tensor, as rows of the last dim."""
        typ, dims, off, nb = self.tensors[i]
        n = dims[-1]
        rows = math.prod(dims[:-1])
        words = (n + 63) // 64
        if typ in (6, 7):
            groups = (rows + 31) // 32
            lanes = struct.unpack_from("<%dI" % (groups * n), self.b, off)
            out = [[1 - 2 * ((lanes[(r // 32) * n + j] >> (r % 32)) & 1) for j in range(n)] for r in range(rows)]
            counts = struct.unpack_from("<%dH" % rows, self.b, off + 4 * groups * n)
            assert all(counts[r] == out[r].count(-1) for r in range(rows))
            return out
        w = struct.unpack_from("<%dQ" % (nb // 8), self.b, off)
        def word(r, j):
            return w[((r // 8) * words + j) * 8 + r % 8] if typ == 5 else w[r * words + j]
        return [[-1 if (word(r, j // 64) >> (j % 64)) & 1 else 1 for j in range(n)] for r in range(rows)]

def bound_planes(n):
    """W = 1 + bit_width(n + ceil(n/2)): the planes per side of a columns32s lane group."""
    return 1 + (n + (n + 1) // 2).bit_length()

def check_bounds(img, i, thresholds):
    """A columns32s tensor's bounds words against the thresholds of the threshold_sign after its dense op."""
    typ, (rows, n), off, nb = img.tensors[i]
    groups, w = (rows + 31) // 32, bound_planes(n)
    counts = struct.unpack_from("<%dH" % rows, img.b, off + 4 * groups * n)
    at = off + 4 * groups * n + 4 * ((rows + 1) // 2)
    assert nb == at - off + 8 * groups * w, "columns32s size"
    stored = struct.unpack_from("<%dI" % (2 * groups * w), img.b, at)
    for g in range(groups):
        for side in (0, 1):
            for j in range(w):
                word = 0
                for k in range(min(32, rows - 32 * g)):
                    t = min(max(thresholds[32 * g + k], -n), n + 2)
                    big_t = min(max((n - t) // 2 + 1, 0), n + 1)
                    c = counts[32 * g + k]
                    start = big_t - c - 1 if side == 0 else -(c + big_t)
                    word |= ((start >> j) & 1) << k
                assert stored[(2 * g + side) * w + j] == word, "columns32s bounds word"

def bounded_signs(x, wt, n, start0, start1):
    """The signs of A < t from the bounds alone (spec: the counter's sign), for +/-1 inputs x."""
    set_ = sum(1 for v in x if v == -1)
    out = []
    for o, row in enumerate(wt):
        if 2 * set_ <= n:
            s = sum(1 for a, b in zip(x, row) if a == -1 and b == -1)
            out.append(start0[o] - set_ + 2 * s < 0)
        else:
            z = sum(1 for a, b in zip(x, row) if a == 1 and b == -1)
            out.append(start1[o] + set_ + 2 * z >= 0)
    return out

def float_dense(x, w, b):
    """infer's order: eight lane sums, the lanes added left to right from -0, the tail, then the bias."""
    n = len(x)
    full = 8 * (n // 8)
    out = []
    for o, row in enumerate(w):
        p = [f32(x[i] * row[i]) for i in range(n)]
        lanes = [0.0] * 8
        for i in range(full):
            lanes[i % 8] = f32(lanes[i % 8] + p[i])
        s = -0.0
        for v in lanes:
            s = f32(s + v)
        for i in range(full, n):
            s = f32(s + p[i])
        out.append(f32(s + (b[o] if b else 0.0)))
    return out

def run(img, pixels):
    """The argmax and the scores of one image; activations are flat NHWC lists."""
    h, w, c = img.h, img.w, img.c
    x, kind = list(pixels), "pixels"
    for k, (op, p) in enumerate(img.ops):
        if op == 1:                                   # input_codes
            assert k == 0
            d = p[0]
            x = x if d == 8 else [2 * (v >> (8 - d)) + 1 for v in x]
            kind = "codes"
        elif op in (2, 3):                            # dense, conv2d
            dense = op == 2
            wi = p[2] if dense else p[5]
            if dense:
                rows, taps = [[j] for j in range(len(x))], None
                m, (oh, ow) = p[1], (1, 1)
            else:
                hh, ww, cc, kk, m = p[:5]
                oh, ow = hh - kk + 1, ww - kk + 1
            binary = img.tensors[wi][0] in (4, 5, 6, 7)
            wt = img.signs(wi) if binary else img.floats(wi)
            xs = x if kind != "codes" or binary else [float(v) for v in x]
            if not binary:
                if dense:
                    n = p[0]
                    wt = [wt[o * n:(o + 1) * n] for o in range(m)]
                    x = float_dense(xs, wt, img.floats(p[5] - 1) if p[5] else None)
                else:
                    raise NotImplementedError("float conv2d (no golden model has one)")
                kind = "f32"
            elif dense:
                acc = [sum(a * b for a, b in zip(row, xs)) for row in wt]
                if img.version >= 5 and p[6]:             # ternary: w = (u + v) / 2, v the lower plane
                    lower = img.signs(p[6] - 1)
                    assert img.tensors[p[6] - 1][0] == img.tensors[wi][0] in (4, 5, 6) and p[6] - 1 != wi
                    assert all(not (u == -1 and v == 1) for ur, vr in zip(wt, lower) for u, v in zip(ur, vr)), "u within v"
                    acc = [(a + sum(w * b for w, b in zip(row, xs))) // 2 for a, row in zip(acc, lower)]
                else:
                    assert not p[6], "parameter 6 is 0 for binary weights and before version 5"
                if img.tensors[wi][0] == 7:               # columns32s: bits input, threshold_sign next
                    nop, np_ = img.ops[k + 1]
                    assert kind == "bits" and nop == 5, "columns32s needs bits input and threshold_sign next"
                    t = img.values(np_[3], 2, "i", 4)
                    check_bounds(img, wi, t)
                    n = p[0]
                    counts = [row.count(-1) for row in wt]
                    big_t = [min(max((n - min(max(v, -n), n + 2)) // 2 + 1, 0), n + 1) for v in t]
                    lt = bounded_signs(xs, wt, n, [b - c - 1 for b, c in zip(big_t, counts)], [-(c + b) for b, c in zip(big_t, counts)])
                    assert lt == [a < v for a, v in zip(acc, t)], "columns32s signs agree with the thresholds"
                x = acc
                kind = "i32"
            else:
                out = []
                for y in range(oh):
                    for xx in range(ow):
                        for o in range(m):
                            acc = 0
                            for ky in range(kk):
                                for kx in range(kk):
                                    for ch in range(cc):
                                        acc += xs[((y + ky) * ww + xx + kx) * cc + ch] * wt[(o * kk + ky) * kk + kx][ch]
                            out.append(acc)
                x, kind = out, "i32"
            h, w, c = oh, ow, m
        elif op == 4:                                 # maxpool2d
            hh, ww, cc, s = p[:4]
            out = []
            for y in range(hh // s):
                for xx in range(ww // s):
                    for ch in range(cc):
                        best = x[((y * s) * ww + xx * s) * cc + ch]
                        for dy in range(s):
                            for dx in range(s):
                                v = x[((y * s + dy) * ww + xx * s + dx) * cc + ch]
                                if v > best:
                                    best = v
                        out.append(best)
            x, h, w, c = out, hh // s, ww // s, cc
        elif op == 5:                                 # threshold_sign (as +/-1 values)
            t, fl = img.values(p[3], 2, "i", 4), img.values(p[4], 1, "B", 1)
            cc = p[2]
            x = [1 if (v >= t[i % cc]) != (fl[i % cc] == 1) else -1 for i, v in enumerate(x)]
            kind = "bits"
        elif op == 6:                                 # affine
            cc = p[2]
            scale, shift = img.floats(p[4]), img.floats(p[5])
            outs = img.floats(p[3] - 1) if p[3] else None
            out = []
            for i, v in enumerate(x):
                v = f32(v)                            # Float(Int32): nearest binary32, ties to even
                if outs:
                    v = f32(v * outs[i % cc])
                out.append(f32(f32(v * scale[i % cc]) + shift[i % cc]))
            x, kind = out, "f32"
        elif op == 7:                                 # hardtanh
            x = [-1.0 if v < -1 else (1.0 if v > 1 else v) for v in x]
        elif op == 8:                                 # relu
            x = [v if v > 0 else 0.0 for v in x]
        elif op == 9:                                 # argmax
            best = 0
            for i in range(1, len(x)):
                if x[i] > x[best]:
                    best = i
            return best, [bits(v) for v in x]
        else:
            raise ValueError("unknown op %d" % op)

def main(directory):
    ok = True
    versions = sorted(int(f[1:].split("-")[0]) for f in os.listdir(directory) if f.endswith("-expected.json"))
    assert versions == list(range(1, len(versions) + 1)), versions
    for v in versions:
        expected = json.load(open(os.path.join(directory, "v%d-expected.json" % v)))
        for name, cases in sorted(expected.items()):
            meta, image = container(open(os.path.join(directory, name + ".bsm"), "rb").read())
            img = Image(image)
            assert img.version == v
            for i, (pixels, case) in enumerate(zip(golden_inputs(), cases)):
                cls, scores = run(img, pixels)
                if cls != case["class"] or scores != case["scores"]:
                    ok = False
                    print("%s input %d: got %d %s, expected %d %s" % (name, i, cls, scores, case["class"], case["scores"]))
            print("%s: %d inputs agree" % (name, len(cases)) if ok else "%s: checked" % name)
    print("all golden scores agree, bit for bit" if ok else "DISAGREEMENTS")
    return 0 if ok else 1

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "spec", "golden")))
