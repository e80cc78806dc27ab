#!/usr/bin/env python3
"""Writes a BinaryNet.pytorch-style MNIST MLP state_dict (safetensors) and PyTorch's predictions on the
first N MNIST test images, for the BinaryNet import test (`convert OUT_DIR/binarynet.safetensors -o M.bsm`: convert recognises the layout by its tensor names; spec/PYTORCH.md).

Usage: binarynet_fixture.py OUT_DIR [--width 64] [--images 500]

The model follows itayhubara/BinaryNet.pytorch main_mnist.py (Hubara et al. 2016): fc1..fc3 are
BinarizeLinear (sign of the weights; inputs binarized except the 784-wide first layer; bias added
after the product), each followed by BatchNorm1d and Hardtanh (dropout before bn3 in training),
fc4 a real-valued nn.Linear, inputs normalized with mean 0.1307 and std 0.3081. The BatchNorm
model is trained for one epoch on 10,000 MNIST images (Adam, latent weights clamped to [-1, 1]), then
a third of the channels of bn1 and bn2 get negated gamma and beta with the next layer's input columns
negated too (the same function, but negative BatchNorm scales, so the sign flip is exercised).
Deviation from the original: torch.sign(0) = 0 there and sign(0) = +1 in BitShield; a weight or
activation of exactly 0 is vanishingly rare after training.
"""
import gzip, json, os, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

out_dir = sys.argv[1]
width = int(sys.argv[sys.argv.index("--width") + 1]) if "--width" in sys.argv else 64
count = int(sys.argv[sys.argv.index("--images") + 1]) if "--images" in sys.argv else 500
torch.manual_seed(11)


class BinarizeLinear(nn.Linear):
    def forward(self, x):
        if x.size(1) != 784:
            x = torch.sign(x)
        out = F.linear(x, torch.sign(self.weight))
        return out + self.bias.view(1, -1) if self.bias is not None else out


class Net(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc1, self.bn1 = BinarizeLinear(784, w), nn.BatchNorm1d(w)
        self.fc2, self.bn2 = BinarizeLinear(w, w), nn.BatchNorm1d(w)
        self.fc3, self.bn3 = BinarizeLinear(w, w), nn.BatchNorm1d(w)
        self.fc4 = nn.Linear(w, 10)
        self.htanh = nn.Hardtanh()

    def forward(self, x):
        x = self.htanh(self.bn1(self.fc1(x.view(-1, 784))))
        x = self.htanh(self.bn2(self.fc2(x)))
        x = self.htanh(self.bn3(self.fc3(x)))
        return self.fc4(x)


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class TrainLinear(BinarizeLinear):
    """BinarizeLinear with straight-through gradients, for the short training run."""

    def forward(self, x):
        if x.size(1) != 784:
            x = SignSTE.apply(x)
        w = self.weight + (torch.sign(self.weight) - self.weight).detach()
        return F.linear(x, w) + self.bias.view(1, -1)


cache = os.environ.get("BITSHIELD_DATA") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bitshield", "data")


def images(name, n):
    with gzip.open(os.path.join(cache, "mnist", name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]


def labels(name, n):
    with gzip.open(os.path.join(cache, "mnist", name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)[:n]


def normalize(p):
    return (torch.from_numpy(p.astype(np.float32)) / 255 - 0.1307) / 0.3081


net = Net(width)
for name in ("fc1", "fc2", "fc3"):
    old = getattr(net, name)
    new = TrainLinear(old.in_features, old.out_features)
    new.load_state_dict(old.state_dict())
    setattr(net, name, new)
opt = torch.optim.Adam(net.parameters(), lr=0.005)
xt, yt = normalize(images("train-images-idx3-ubyte.gz", 10000)), torch.from_numpy(labels("train-labels-idx1-ubyte.gz", 10000).astype(np.int64))
net.train()
for i in range(0, 10000, 100):
    opt.zero_grad()
    F.cross_entropy(net(xt[i:i + 100]), yt[i:i + 100]).backward()
    opt.step()
    with torch.no_grad():
        for name in ("fc1", "fc2", "fc3"):
            getattr(net, name).weight.clamp_(-1, 1)
with torch.no_grad():
    for bn, nxt in ((net.bn1, net.fc2), (net.bn2, net.fc3)):
        flip = torch.arange(width) % 3 == 0
        bn.weight[flip] *= -1
        bn.bias[flip] *= -1
        nxt.weight[:, flip] *= -1
net.eval()

pixels = images("t10k-images-idx3-ubyte.gz", count)
x = normalize(pixels)
with torch.no_grad():
    predictions = net(x).argmax(1).tolist()

tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
header, offset, blobs = {"__metadata__": {"source": "BinaryNet.pytorch-style main_mnist.py Net"}}, 0, []
for name in sorted(tensors):
    t = tensors[name]
    a = t.numpy()
    dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
    b = a.astype(a.dtype.newbyteorder("<")).tobytes()
    header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out_dir, "binarynet.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
accuracy = float((torch.tensor(predictions) == torch.from_numpy(labels("t10k-labels-idx1-ubyte.gz", count).astype(np.int64))).float().mean())
with open(os.path.join(out_dir, "binarynet-predictions.json"), "w") as f:
    json.dump({"width": width, "images": count, "predictions": predictions, "torch_accuracy": accuracy}, f)
print(f"wrote a {width}-wide BinaryNet MLP and {count} predictions to {out_dir}")
