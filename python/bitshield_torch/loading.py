"""One entry point for both files, and the per-image outputs the tools write."""
import numpy as np
import torch

from .bsm import load_bsm
from .checkpoint import load_checkpoint


def load(path):
    """A module in eval mode whose predictions equal `infer`'s: from a `.bsm` file (by its magic "BSM1":
    runtime semantics, surrogate gradient) or from a BitShield checkpoint (safetensors: the trainer's
    forward pass and straight-through gradients)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    return load_bsm(path) if magic == b"BSM1" else load_checkpoint(path)


@torch.no_grad()
def predictions(model, images, batch=1000):
    """(classes, scores) of uint8 `images` [N, ...] or float pixels on [0, 1]: classes are the first index
    of the largest score, as `infer`'s argmax."""
    was = model.training
    model.eval()
    classes, scores = [], []
    for i in range(0, len(images), batch):
        x = images[i:i + batch]
        x = torch.from_numpy(np.array(x)) if isinstance(x, np.ndarray) else torch.as_tensor(x)
        x = x.to(torch.float32) / 255 if x.dtype == torch.uint8 else x.to(torch.float32)
        s = model(x)
        scores.append(s)
        classes.append(s.argmax(dim=1))
    model.train(was)
    return torch.cat(classes), torch.cat(scores)


def scores_text(scores):
    """The lines `infer --scores` and `train eval --scores` write: per image its scores, space-separated,
    each %.9g (which reads back as the same float32)."""
    return "".join(" ".join("%.9g" % v for v in row) + "\n" for row in scores.tolist())


def read_scores(path):
    """A `--scores` file as a float32 tensor [N, classes] (exactly the values the tool held)."""
    with open(path) as f:
        return torch.tensor([[float(v) for v in line.split()] for line in f if line.strip()], dtype=torch.float32)


def read_predictions(path):
    """A `--predictions` file as an int64 tensor [N]."""
    with open(path) as f:
        return torch.tensor([int(line) for line in f if line.strip()], dtype=torch.int64)
