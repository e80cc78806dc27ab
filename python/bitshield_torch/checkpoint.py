"""BitShield checkpoints (Sources/Trainer/Checkpoint/Checkpoint.swift): safetensors with F32 tensors and
string metadata `format` = "bitshield.checkpoint", `format_version` = "1", `model`, `training`,
`progress` (JSON, snake_case keys) and `tool`. Written and read here with the standard library and numpy
(no safetensors package needed)."""
import json
import os
import struct

import numpy as np
import torch

from .layers import Net

FORMAT = "bitshield.checkpoint"
TOOL = "bitshield_torch 0.1.0"
MAX_HEADER = 100 * 1024 * 1024


def write_safetensors(path, tensors, metadata):
    """Writes `tensors` (name -> float32 array-like, in order) and `metadata` (str -> str) as safetensors,
    atomically (a temporary file beside `path`, then a rename)."""
    header = {"__metadata__": dict(metadata)}
    blobs, offset = [], 0
    for name, value in tensors:
        a = np.ascontiguousarray(np.asarray(value, dtype="<f4"))
        if not np.all(np.isfinite(a)):
            raise ValueError("tensor %r holds a NaN or an infinity; a checkpoint holds finite values only" % name)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """(metadata, {name: float32 numpy array}) of a safetensors file of F32 tensors; anything else refused
    with the reason."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: %d bytes, a safetensors file has at least 8" % (path, len(data)))
    (n,) = struct.unpack_from("<Q", data, 0)
    if n > min(MAX_HEADER, len(data) - 8):
        raise ValueError("%s: header of %d bytes, file has %d after the length" % (path, n, len(data) - 8))
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        if e.get("dtype") != "F32":
            raise ValueError("%s: tensor %r is %s; BitShield checkpoints hold F32 tensors only" % (path, name, e.get("dtype")))
        b, end = e["data_offsets"]
        count = int(np.prod(e["shape"], dtype=np.int64))
        if not 0 <= b <= end <= len(body) or end - b != 4 * count:
            raise ValueError("%s: tensor %r has data_offsets [%d, %d] for shape %s in %d data bytes"
                             % (path, name, b, end, e["shape"], len(body)))
        tensors[name] = np.frombuffer(body[b:end], dtype="<f4").reshape(e["shape"]).copy()
    return meta, tensors


def save(model, path, dataset="mnist", epochs=1, batch_size=100, learning_rate=0.005, optimizer="adam",
         seed=1, epochs_completed=None, optimizer_step=0, test_accuracy=None, seconds=0.0, extra_metadata=None):
    """Writes `model` (an FCN) as a BitShield checkpoint that `convert` reads (and `train attack`, `train eval`).
    The training settings are recorded for the record (the trainer validates them: epochs >= 1,
    batch size >= 2, an optimizer of adam or sgd); no optimizer state is written."""
    if not isinstance(model, Net):
        raise TypeError("save() takes a bitshield_torch network (FCN, ConvNet), not %s" % type(model).__name__)
    training = {
        "dataset": dataset, "epochs": int(epochs), "batch_size": int(batch_size), "optimizer": optimizer,
        "learning_rate": float(np.float32(learning_rate)), "momentum": 0.9, "weight_decay": 0.0,
        "schedule": "cosine", "step_epochs": 3, "gamma": 0.1, "seed": int(seed),
    }
    progress = {"epochs_completed": int(epochs if epochs_completed is None else epochs_completed),
                "optimizer_step": int(optimizer_step), "seconds": float(seconds)}
    if test_accuracy is not None:
        progress["test_accuracy"] = float(test_accuracy)
    meta = {
        "format": FORMAT, "format_version": "1", "tool": TOOL,
        "model": json.dumps(model.config, sort_keys=True, separators=(",", ":")),
        "training": json.dumps(training, sort_keys=True, separators=(",", ":")),
        "progress": json.dumps(progress, sort_keys=True, separators=(",", ":")),
    }
    meta.update(extra_metadata or {})
    write_safetensors(path, [(n, t.detach().cpu().numpy()) for n, t in model.named_tensors()], meta)


def model_from_config(config):
    """The network a checkpoint's `model` JSON (a dict) describes."""
    arch = config.get("architecture")
    if arch not in ("fcn", "conv"):
        raise ValueError("architecture %r is not fcn or conv" % (arch,))
    sparsity = config.get("weight_sparsity", 0)
    if sparsity != 0:
        # Sparse ternary weights (train fit --weight-sparsity): this package's layers are +/-1 only, and loading
        # the latent weights as binary would be a different model.
        raise ValueError("weight_sparsity %r: ternary weights are not supported here (binary +/-1 weights only)" % (sparsity,))
    i = config["input"]
    return Net(config["hidden"], precision=config["precision"], input_bits=config["input_bits"],
               input=(i["height"], i["width"], i["channels"]), classes=config["classes"],
               activation=config.get("activation", "hardtanh"), dropout=config.get("dropout", 0.0),
               float_last_layer=config.get("float_last_layer", False),
               conv_channels=config.get("conv_channels", []) if arch == "conv" else [], kernel=config.get("kernel", 3))


def load_checkpoint(path):
    """A Net (FCN or conv) in eval mode from a BitShield checkpoint: the trainer's forward pass and straight-through
    gradients. Every tensor the model needs must be there with its shape; `optimizer.*` tensors are
    ignored, any other unknown tensor is refused by name."""
    meta, tensors = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ValueError("%s: metadata 'format' is %r, expected %r (a checkpoint written by train or bitshield_torch.save)"
                         % (path, meta.get("format"), FORMAT))
    model = model_from_config(json.loads(meta["model"]))
    wanted = dict(model.named_tensors())
    extra = sorted(n for n in tensors if n not in wanted and not n.startswith("optimizer."))
    if extra:
        raise ValueError("%s: tensors %s are not part of %s" % (path, ", ".join(extra), model.config))
    with torch.no_grad():
        for name, t in wanted.items():
            if name not in tensors:
                raise ValueError("%s: tensor %r is missing" % (path, name))
            v = tensors[name]
            if list(v.shape) != list(t.shape):
                raise ValueError("%s: tensor %r has shape %s, the model needs %s" % (path, name, list(v.shape), list(t.shape)))
            t.copy_(torch.from_numpy(v))
    model.metadata = meta
    return model.eval()
