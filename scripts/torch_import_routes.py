#!/usr/bin/env python3
"""BinaryNet.pytorch layouts trained in PyTorch, imported by `convert`, scored by `infer`, compared image by image
with PyTorch's own predictions (issue 17, item 2; spec/PYTORCH.md, "Importing BinaryNet.pytorch models").

Usage: torch_import_routes.py --bin DIR --work DIR [--routes mlp-2b,mlp-real,conv] [--images 500] [--train 10000]
                              [--width 64] [--epochs 1]

Routes (each trained for --epochs on the first --train MNIST training images, Adam, latent weights clamped
to [-1, 1], straight-through sign; evaluated as BinaryNet.pytorch evaluates, with torch.sign):
  mlp-2b    the issue's model in small: fc1..fc3 BinarizeLinear with bias, bn1..bn3, the last layer BINARY
            with its BatchNorm bn3 (the logits), input discretized by Eq. 2 to 2 bits, then normalized
            (mean 0.1307, std 0.3081); saved with Hugging Face's {"format": "pt"} metadata.
            convert --input-bits 2 (--last-layer binary is the default when bn3 is there).
  mlp-real  main_mnist.py's layout: BinarizeLinear fc1, fc2 + bn1, bn2, a real nn.Linear fc3 on the
            hardtanh output, 8-bit input. convert with the defaults.
  conv      an nn.Sequential: features = [BinarizeConv2d(1, 8, 3), MaxPool2d(2), BatchNorm2d, Hardtanh,
            BinarizeConv2d(8, 16, 3), MaxPool2d(2), BatchNorm2d, Hardtanh], classifier = [BinarizeLinear(400,
            32), BatchNorm1d, Hardtanh, BinarizeLinear(32, 10), BatchNorm1d(affine=False)]: unpadded, biased
            convolutions; 2-bit input. convert --conv-padding 0 --input-bits 2.
Every state dict keeps PyTorch's I64 num_batches_tracked. Prints one JSON line: per route the images, the
mismatches between PyTorch's and infer's predictions, both accuracies.
"""
import argparse, json, os, struct, subprocess, sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))
import bitshield_torch as bt  # noqa: E402

MEAN, STD = 0.1307, 0.3081


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


def binarized(w):
    """sign(W) forward (torch.sign, as BinaryNet.pytorch), identity gradient to the latent weights."""
    return w + (torch.sign(w) - w).detach()


class BinarizeLinear(nn.Linear):
    """BinaryNet.pytorch's BinarizeLinear: the input is binarized unless it is the image (first layer)."""

    def __init__(self, i, o, first=False):
        super().__init__(i, o)
        self.first = first

    def forward(self, x):
        return F.linear(x if self.first else SignSTE.apply(x), binarized(self.weight), self.bias)


class BinarizeConv2d(nn.Conv2d):
    def __init__(self, i, o, k, first=False):
        super().__init__(i, o, k, padding=0, bias=True)
        self.first = first

    def forward(self, x):
        return F.conv2d(x if self.first else SignSTE.apply(x), binarized(self.weight), self.bias)


class MLP(nn.Module):
    """main_mnist.py's Net in small (fc1, bn1, ...): `binary_last` puts a BinarizeLinear fc3 and bn3 last."""

    def __init__(self, width, binary_last):
        super().__init__()
        self.fc1, self.bn1 = BinarizeLinear(784, width, first=True), nn.BatchNorm1d(width)
        self.fc2, self.bn2 = BinarizeLinear(width, width), nn.BatchNorm1d(width)
        self.binary_last = binary_last
        if binary_last:
            self.fc3, self.bn3 = BinarizeLinear(width, 10), nn.BatchNorm1d(10)
        else:
            self.fc3 = nn.Linear(width, 10)

    def forward(self, x):
        x = F.hardtanh(self.bn1(self.fc1(x.reshape(-1, 784))))
        x = F.hardtanh(self.bn2(self.fc2(x)))
        return self.bn3(self.fc3(x)) if self.binary_last else self.fc3(x)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            BinarizeConv2d(1, 8, 3, first=True), nn.MaxPool2d(2), nn.BatchNorm2d(8), nn.Hardtanh(),
            BinarizeConv2d(8, 16, 3), nn.MaxPool2d(2), nn.BatchNorm2d(16), nn.Hardtanh())
        self.classifier = nn.Sequential(
            BinarizeLinear(16 * 5 * 5, 32), nn.BatchNorm1d(32), nn.Hardtanh(),
            BinarizeLinear(32, 10), nn.BatchNorm1d(10, affine=False))

    def forward(self, x):
        return self.classifier(self.features(x.reshape(-1, 1, 28, 28)).reshape(x.shape[0], -1))


def inputs(pixels, bits):
    """Eq. 2 on uint8 pixels (the level's centre, on the [0, 1] scale), then BinaryNet's normalization."""
    p = torch.from_numpy(pixels.astype(np.int64)).reshape(len(pixels), -1)
    if bits < 8:
        step = 1 << (8 - bits)
        x = ((p // step) * step + step / 2).to(torch.float32) / 255
    else:
        x = p.to(torch.float32) / 255
    return (x - MEAN) / STD


def train(model, bits, n, epochs, seed):
    torch.manual_seed(seed)
    images, labels = bt.mnist_train()
    x, y = inputs(images[:n], bits), torch.from_numpy(labels[:n].astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 100):
            b = perm[i:i + 100]
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, (BinarizeLinear, BinarizeConv2d)):
                        m.weight.clamp_(-1, 1)
    model.eval()


def save_state_dict(path, state, metadata=None):
    """safetensors.torch.save_file's layout: F32 tensors and PyTorch's I64 step counters."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name, t in state.items():
        a = t.detach().cpu().numpy()
        dtype = "I64" if a.dtype == np.int64 else "F32"
        a = np.ascontiguousarray(a.astype("<i8" if dtype == "I64" else "<f4"))
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


ROUTES = {
    "mlp-2b": (lambda w: MLP(w, binary_last=True), 2, ["--input-bits", "2"], {"format": "pt"}),
    "mlp-real": (lambda w: MLP(w, binary_last=False), 8, [], None),
    "conv": (lambda w: ConvNet(), 2, ["--conv-padding", "0", "--input-bits", "2"], None),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--routes", default=",".join(ROUTES))
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.work, exist_ok=True)
    test_images, test_labels = bt.mnist_test()
    images, labels = test_images[:args.images], test_labels[:args.images].astype(np.int64)
    idx = os.path.join(args.work, "test")
    with open(idx + "-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(images), 28, 28) + images.tobytes())
    with open(idx + "-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes())
    report = {}
    for name in args.routes.split(","):
        make, bits, options, metadata = ROUTES[name]
        model = make(args.width)
        train(model, bits, args.train, args.epochs, seed=7)
        with torch.no_grad():
            ours_torch = model(inputs(images, bits)).argmax(1).numpy()
        sd = os.path.join(args.work, name + ".safetensors")
        bsm = os.path.join(args.work, name + ".bsm")
        save_state_dict(sd, model.state_dict(), metadata)
        r = subprocess.run([os.path.join(args.bin, "convert"), sd, "-o", bsm] + options, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("convert %s failed (%d): %s" % (name, r.returncode, r.stderr))
        pred = os.path.join(args.work, name + "-predictions.txt")
        r = subprocess.run([os.path.join(args.bin, "infer"), bsm, "--images", idx + "-images-idx3-ubyte",
                            "--labels", idx + "-labels-idx1-ubyte", "--predictions", pred], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("infer %s failed (%d): %s" % (name, r.returncode, r.stderr))
        runtime = bt.read_predictions(pred).numpy()
        report[name] = {"images": len(images), "mismatches": int((runtime != ours_torch).sum()),
                        "torch_accuracy": float((ours_torch == labels).mean()),
                        "runtime_accuracy": float((runtime == labels).mean()), "convert_options": options}
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()
