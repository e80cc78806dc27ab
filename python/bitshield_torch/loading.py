"""One entry point for both files, and the per-image outputs the tools write."""
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
        x = torch.as_tensor(images[i:i + batch])
        x = x.to(torch.float32) / 255 if x.dtype == torch.uint8 else x.to(torch.float32)
        s = model(x)
        scores.append(s)
        classes.append(s.argmax(dim=1))
    model.train(was)
    return torch.cat(classes), torch.cat(scores)


def scores_text(classes, scores):
    """The lines `infer --scores` writes: the class, then each score as %.9g (reads back exactly)."""
    return "".join("%d %s\n" % (int(c), " ".join("%.9g" % float(v) for v in row))
                   for c, row in zip(classes.tolist(), scores.tolist()))
