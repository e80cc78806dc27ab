#!/usr/bin/env python3
"""PyTorch peer of BitShield's fully connected trainer, for same-run benchmarks.

BinaryNet-style MLP (784-600x4-10 by default) on MNIST / Fashion-MNIST, CPU only.
With --arch conv: the Swift trainer's default conv net (NHWC there, NCHW here):
  conv 32 3x3 valid (no bias) -> MaxPool 2 -> BN -> act -> conv 64 3x3 valid -> MaxPool 2 -> BN -> act
  -> flatten in NHWC order (5*5*64 = 1600, so dense weight layouts agree) -> Linear 512 -> BN -> act
  -> Dropout -> Linear 10 -> BN -> logits. No dropout in the conv blocks.
Binary precision follows Hubara et al., "Binarized Neural Networks" (NIPS 2016,
arXiv:1602.02830) and its reference code BinaryNet.pytorch
(https://github.com/itayhubara/BinaryNet.pytorch): sign() of latent float weights
in the forward pass with the gradient passed straight through to the latent
weights, latent weights clamped to [-1, 1] after every optimizer step, sign
activations with the straight-through estimator grad * (|x| <= 1), and the
first layer seeing the real-valued (here: discretized) input.

Deviation from BinaryNet.pytorch: it binarizes with torch.sign, which maps 0 to
0; here sign(0) = +1 (torch.where(x >= 0, 1, -1)) for weights and activations,
so every binarized value is exactly +-1, matching the Swift trainer.

Prints one line per epoch, then ONE JSON line (the last line on stdout).
"""
import argparse
import gzip
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from bitshield_data import data_root, discretize, load_split  # noqa: E402  (bench/bitshield_data.py)






# ---- binarization (sign(0) = +1) -------------------------------------------------

class SignWeightSTE(torch.autograd.Function):
    """Weights: forward sign (0 -> +1), backward identity to the latent weight."""

    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, 1.0, -1.0).to(w.dtype)

    @staticmethod
    def backward(ctx, g):
        return g


class SignActSTE(torch.autograd.Function):
    """Activations: forward sign (0 -> +1), backward grad * (|x| <= 1) (hardtanh STE)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class BinaryLinear(nn.Linear):
    """Linear using sign(W) of latent weights W; the input is used as given."""

    def forward(self, x):
        return F.linear(x, SignWeightSTE.apply(self.weight), self.bias)


class BinaryConv2d(nn.Conv2d):
    """Conv2d using sign(W) of latent weights W; the input is used as given."""

    def forward(self, x):
        return F.conv2d(x, SignWeightSTE.apply(self.weight), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


class FlattenNHWC(nn.Module):
    """(N, C, H, W) -> (N, H*W*C) in NHWC order, matching the Swift trainer's flatten."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class SignAct(nn.Module):
    def forward(self, x):
        return SignActSTE.apply(x)


def build_conv_model(args):
    """28x28x1 -> c32 -> c64 -> dense args.hidden -> 10 (see module docstring)."""
    binary = args.precision == "binary"
    Conv = BinaryConv2d if binary else nn.Conv2d
    Lin = BinaryLinear if binary else nn.Linear
    act = (lambda: SignAct()) if binary else (lambda: nn.Hardtanh())
    layers, cin, side = [], 1, 28
    for cout in (32, 64):
        layers += [Conv(cin, cout, kernel_size=3, stride=1, padding=0, bias=False),
                   nn.MaxPool2d(2),
                   nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
                   act()]
        cin, side = cout, (side - 2) // 2
    flat = side * side * cin  # 5*5*64 = 1600
    layers += [FlattenNHWC(),
               Lin(flat, args.hidden, bias=False), nn.BatchNorm1d(args.hidden, eps=1e-5, momentum=0.1),
               act(), nn.Dropout(p=args.dropout),
               Lin(args.hidden, 10, bias=False), nn.BatchNorm1d(10, eps=1e-5, momentum=0.1)]
    return nn.Sequential(*layers)


def build_model(args):
    if args.arch == "conv":
        return build_conv_model(args)
    widths = [784] + [args.hidden] * args.depth + [10]
    layers = []
    if args.plain_mlp:
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1], bias=True))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    binary = args.precision == "binary"
    Lin = BinaryLinear if binary else nn.Linear
    for i in range(len(widths) - 1):
        layers.append(Lin(widths[i], widths[i + 1], bias=False))
        layers.append(nn.BatchNorm1d(widths[i + 1], eps=1e-5, momentum=0.1))
        if i < len(widths) - 2:
            layers.append(SignAct() if binary else nn.Hardtanh())
            layers.append(nn.Dropout(p=args.dropout))
    return nn.Sequential(*layers)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out = model(x[i:i + batch])
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["fcn", "conv"], default="fcn")
    ap.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    ap.add_argument("--data-dir", default=None, help="folder holding mnist/ and fashion-mnist/")
    ap.add_argument("--precision", choices=["float", "binary"], default="float")
    ap.add_argument("--input-bits", type=int, default=8, choices=range(1, 9), metavar="1..8")
    ap.add_argument("--hidden", type=int, default=None,
                    help="hidden width: default 600 (fcn), 512 (conv's single dense block)")
    ap.add_argument("--depth", type=int, default=4, help="fcn hidden blocks (ignored by conv)")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=None, help="default 0.001 float, 0.005 binary")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--schedule", choices=["cosine", "none"], default="cosine")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=None, metavar="N",
                    help="use only the first N training images (quick checks)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain-mlp", action="store_true",
                    help="sanity baseline (fcn only): Linear(bias) -> ReLU, no BN/dropout, float")
    args = ap.parse_args()
    if args.plain_mlp and args.arch != "fcn":
        ap.error("--plain-mlp is fcn only")
    if args.hidden is None:
        args.hidden = 512 if args.arch == "conv" else 600
    if args.train_limit is not None and args.train_limit < 1:
        ap.error("--train-limit must be >= 1")
    if args.plain_mlp:
        args.precision = "float"
    if args.lr is None:
        args.lr = 0.005 if args.precision == "binary" else 0.001

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    folder = os.path.join(data_root(args.data_dir), args.dataset)
    tr_img, tr_lab = load_split(folder, "train")
    if args.train_limit is not None:
        tr_img, tr_lab = tr_img[:args.train_limit], tr_lab[:args.train_limit]
    te_img, te_lab = load_split(folder, "t10k")
    x_train = torch.from_numpy(discretize(tr_img, args.input_bits))
    y_train = torch.from_numpy(tr_lab)
    x_test = torch.from_numpy(discretize(te_img, args.input_bits))
    y_test = torch.from_numpy(te_lab)
    if args.arch == "conv":
        x_train = x_train.view(-1, 1, 28, 28)
        x_test = x_test.view(-1, 1, 28, 28)

    model = build_model(args)
    binary_layers = [m for m in model.modules() if isinstance(m, (BinaryLinear, BinaryConv2d))]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total_steps = steps_per_epoch * args.epochs
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=0.0)
             if args.schedule == "cosine" else None)
    gen = torch.Generator().manual_seed(args.seed)

    epoch_seconds, epoch_cpu, accs = [], [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros(())
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            out = model(x_train[idx])
            loss = F.cross_entropy(out, y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if binary_layers:
                with torch.no_grad():
                    for m in binary_layers:
                        m.weight.clamp_(-1.0, 1.0)
            if sched is not None:
                sched.step()
            loss_sum += loss.detach()
        dt = time.perf_counter() - t0
        epoch_cpu.append(time.process_time() - c0)  # user + system CPU of every thread of the process
        acc = evaluate(model, x_test, y_test)
        epoch_seconds.append(dt)
        accs.append(acc)
        print(f"epoch {epoch}/{args.epochs}  train_loss {loss_sum.item() / steps_per_epoch:.4f}  "
              f"test_acc {acc:.4f}  train_seconds {dt:.3f}", flush=True)

    result = {
        "framework": "pytorch",
        "precision": args.precision,
        "input_bits": args.input_bits,
        "epochs": args.epochs,
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "median_epoch_seconds": round(statistics.median(epoch_seconds), 4),
        "epoch_cpu_seconds": [round(s, 4) for s in epoch_cpu],
        "test_accuracy": accs[-1],
        "torch_version": torch.__version__,
        "threads": args.threads,
        "dataset": args.dataset,
        "arch": args.arch,
        "model": ("plain-mlp" if args.plain_mlp
                  else "binarynet-conv-c32-c64-%d" % args.hidden if args.arch == "conv"
                  else "binarynet-fcn"),
        "hidden": args.hidden,
        "depth": args.depth if args.arch == "fcn" else None,
        "train_images": int(x_train.shape[0]),
        "batch": args.batch,
        "lr": args.lr,
        "dropout": args.dropout,
        "schedule": args.schedule,
        "seed": args.seed,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
