"""IDX files (MNIST layout, gzip or raw) and the data cache every BitShield tool finds
($BITSHIELD_DATA, else ~/.cache/bitshield/data)."""
import gzip
import os
import struct

import numpy as np


def _open(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def load_idx_images(path):
    """uint8 images [N, H, W] (idx3) or [N, H, W, C] (idx4)."""
    d = _open(path)
    magic = struct.unpack_from(">I", d, 0)[0]
    if magic not in (0x803, 0x804):
        raise ValueError("%s: magic %#x is neither idx3 (0x803) nor idx4 (0x804) unsigned bytes" % (path, magic))
    rank = magic & 0xFF
    dims = struct.unpack_from(">%dI" % rank, d, 4)
    n = int(np.prod(dims))
    start = 4 + 4 * rank
    if len(d) != start + n:
        raise ValueError("%s: %d bytes of pixels, dims %s need %d" % (path, len(d) - start, dims, n))
    return np.frombuffer(d, dtype=np.uint8, offset=start).reshape(dims)


def load_idx_labels(path):
    d = _open(path)
    magic, n = struct.unpack_from(">II", d, 0)
    if magic != 0x801 or len(d) != 8 + n:
        raise ValueError("%s: not an idx1 label file of %d labels" % (path, n))
    return np.frombuffer(d, dtype=np.uint8, offset=8)


def data_dir(explicit=None):
    return explicit or os.environ.get("BITSHIELD_DATA") or os.path.expanduser("~/.cache/bitshield/data")


def _split(name, prefix, directory):
    base = os.path.join(data_dir(directory), name)
    return (load_idx_images(os.path.join(base, prefix + "-images-idx3-ubyte")),
            load_idx_labels(os.path.join(base, prefix + "-labels-idx1-ubyte")))


def mnist_test(directory=None, name="mnist"):
    """(uint8 images [10000, 28, 28], labels) of the cached test set."""
    return _split(name, "t10k", directory)


def mnist_train(directory=None, name="mnist"):
    return _split(name, "train", directory)
