"""BitShield in PyTorch: modules that compute exactly what BitShield computes, and the two file formats.

    import bitshield_torch as bt
    model = bt.FCN(hidden=[600] * 4, precision="binary", input_bits=2)   # train it as any nn.Module,
    ...                                                                  # calling bt.clip_(model) after each step
    bt.save(model, "runs/torch.safetensors")        # a checkpoint `convert` reads
    net = bt.load("runs/bnn.safetensors")            # a BitShield checkpoint: straight-through gradients
    net = bt.load("model.bsm")                       # a .bsm file: signs and thresholds, surrogate gradient

Inputs are pixels on the [0, 1] scale, shape [N, H, W, C] (NHWC), [N, H*W*C] or, for grey images,
any [N, ...] with H*W values per image. In eval mode the predictions (first index of the largest score)
equal `infer`'s on every input for binary and XNOR networks; spec/PYTORCH.md says why, and what holds
for float layers.
"""
from .layers import (InputQuantizer, BitLinear, BitConv2d, MaxPool, BatchNorm, SignSTE, Net, FCN, ConvNet, clip_, fast_,
                     pixels_of, sign)
from .checkpoint import save, load_checkpoint, read_safetensors, write_safetensors
from .bsm import BsmModel, load_bsm
from .data import load_idx_images, load_idx_labels, mnist_test, mnist_train
from .loading import load, predictions, scores_text, read_scores, read_predictions
from .train import fit

__all__ = ["InputQuantizer", "BitLinear", "BitConv2d", "MaxPool", "BatchNorm", "SignSTE", "Net", "FCN", "ConvNet", "clip_", "fast_", "pixels_of", "sign",
           "save", "load", "load_checkpoint", "load_bsm", "BsmModel", "read_safetensors", "write_safetensors",
           "load_idx_images", "load_idx_labels", "mnist_test", "mnist_train", "predictions", "scores_text", "read_scores", "read_predictions", "fit"]
__version__ = "0.1.0"
