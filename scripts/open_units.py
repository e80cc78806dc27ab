#!/usr/bin/env python3
# Diagnostic for issue 16 (docs/VERIFY.md, "Training for a budget"): how many first-layer units of a binary FCN
# checkpoint the eps-ball leaves OPEN (their exact accumulator range over the ball straddles the threshold folded
# from the evaluation-mode BatchNorm), per MNIST test image: the units `verify` cannot fix at the root.
# Usage: scripts/open_units.py CHECKPOINT.safetensors EPS N   (first N test images; numpy; data cache as `make data`).
import gzip, json, os, struct, sys
import numpy as np
ck, eps, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
f = open(ck, 'rb'); hl = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(hl)); base = 8 + hl
def t(name):
    m = h[name]; a, b = m['data_offsets']; f.seek(base + a); return np.frombuffer(f.read(b - a), dtype=np.float32).reshape(m['shape'])
bits = json.loads(h['__metadata__']['model'])['input_bits']
W = np.where(t('fc0.weight') >= 0, 1, -1).astype(np.int64)
g, b, rm, rv = t('bn0.weight'), t('bn0.bias'), t('bn0.running_mean'), t('bn0.running_var')
with gzip.open(os.path.join(os.environ.get('BITSHIELD_DATA', os.path.expanduser('~/.cache/bitshield/data')), 'mnist/t10k-images-idx3-ubyte.gz')) as z: X = np.frombuffer(z.read()[16:], np.uint8).reshape(-1, 784)[:n].astype(np.int64)
bud = int(np.floor(255 * eps + 1e-4)); s = 8 - bits
code = lambda p: 2 * (p >> s) + 1
c, lo_c, hi_c = code(X), code(np.maximum(X - bud, 0)), code(np.minimum(X + bud, 255))
a = c @ W.T
up = (np.where(W > 0, 1, 0) @ (hi_c - c).T).T + (np.where(W < 0, 1, 0) @ (c - lo_c).T).T
dn = (np.where(W > 0, 1, 0) @ (c - lo_c).T).T + (np.where(W < 0, 1, 0) @ (hi_c - c).T).T
scale = (1 << s) / 510
# eval: y = scale*a; sign(g*(y-rm)/sqrt(rv+eps)+b); threshold in y: t = rm - b*sqrt(rv+1e-5)/g
t_y = rm - b * np.sqrt(rv + 1e-5) / g
open_ = ((scale * (a - dn) < t_y) & (scale * (a + up) >= t_y)).sum(1)
free = (hi_c != lo_c).sum(1)
print(f"{ck} eps {eps}: free pixels median {np.median(free):.0f}; open first-layer units per image: median {np.median(open_):.0f}, mean {open_.mean():.1f}, max {open_.max()}, of {W.shape[0]}")
# Each later layer as verify bounds it at the root: fixed inputs summed exactly, each open input +/-1.
lo_on = scale * (a - dn) >= t_y; hi_on = scale * (a + up) >= t_y          # unit's y >= threshold at the ends
g_prev = g; k = 1
while f'fc{k}.weight' in h and f'bn{k}.weight' in h and f'fc{k + 1}.weight' in h:
    fixed = lo_on == hi_on
    hval = np.where(g_prev > 0, np.where(lo_on, 1, -1), np.where(lo_on, -1, 1))
    Wk = np.where(t(f'fc{k}.weight') >= 0, 1, -1).astype(np.int64)
    gk, bk, rmk, rvk = t(f'bn{k}.weight'), t(f'bn{k}.bias'), t(f'bn{k}.running_mean'), t(f'bn{k}.running_var')
    fk = (hval * fixed) @ Wk.T; nk = (~fixed).sum(1)[:, None]
    tk = rmk - bk * np.sqrt(rvk + 1e-5) / gk
    lo_on, hi_on = fk - nk >= tk, fk + nk >= tk
    openk = (lo_on != hi_on).sum(1)
    print(f"  open layer-{k + 1} units per image: median {np.median(openk):.0f}, mean {openk.mean():.1f}, max {openk.max()}, of {Wk.shape[0]}")
    g_prev = gk; k += 1
