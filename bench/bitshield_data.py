"""Data helpers shared by the Python peers (bench/peer_*.py): BitShield's data cache, IDX files and the
paper's Eq. 2 input discretization, written once so every peer reads the same inputs."""
import gzip
import os
import struct

import numpy as np

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_gz(path):
    """A gzip IDX file as a numpy array, with its header checked."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    dtype = np.dtype(IDX_DTYPES[code])
    count = int(np.prod(dims)) if ndim else 1
    off = 4 + 4 * ndim
    if len(raw) - off != count * dtype.itemsize:
        raise ValueError(f"{path}: size mismatch (header {dims}, {len(raw) - off} payload bytes)")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=off).reshape(dims)


def data_root(data_dir=None):
    """--data-dir, else $BITSHIELD_DATA, else ${XDG_CACHE_HOME:-~/.cache}/bitshield/data (the Swift tools' rule)."""
    if data_dir:
        return data_dir
    if os.environ.get("BITSHIELD_DATA"):
        return os.environ["BITSHIELD_DATA"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "bitshield", "data")


def load_split(folder, prefix, label_dtype=np.int64):
    """(images [N, H*W], labels [N]) of `prefix` (train or t10k) in `folder`."""
    images = read_idx_gz(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx_gz(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}/{prefix}: unexpected shapes {images.shape} {labels.shape}")
    return images.reshape(images.shape[0], -1), labels.astype(label_dtype)


def discretize(pixels_u8, bits):
    """8-bit pixels -> model input (Eq. 2 / 255). bits=8: p/255; else bin centres of width 256/2^bits, /255."""
    p = pixels_u8.astype(np.float32)
    if bits == 8:
        return p / 255.0
    w = 256.0 / (1 << bits)
    return (np.floor(p / w) * w + w / 2.0) / 255.0
