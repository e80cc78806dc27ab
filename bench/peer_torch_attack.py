#!/usr/bin/env python3
"""PyTorch peer of `train attack`: FGSM and PGD-40 timing over the MNIST test set, for bench-attack.

The network is bench/peer_torch_fcn.py's BinaryNet-style FCN2 (784-600x4-10), trained here for
--epochs epochs (Adam, cosine, as that script) or loaded from --load (a state_dict this script saved
with --save). The attacks follow Attacker.swift: evaluation mode, the input quantizer of Eq. 2 applied
to the pixels rounded to 8 bits and passed straight through (BPDA), the sign activations through their
straight-through estimator, cross-entropy, FGSM x + eps sign(g), PGD with a uniform random start, step
2.5 eps / steps and projection onto the ball of floor(255 eps) pixels, results rounded to 8-bit pixels.
sign(0) of the step is 0 (torch.sign), as in Attacker.swift.

Times each attack --repeats times over the whole test set (batch --batch) and prints the medians, then
ONE JSON line (the last line on stdout).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bitshield_data import data_root, load_split  # noqa: E402
import peer_torch_fcn as fcn  # noqa: E402


class QuantizeSTE(torch.autograd.Function):
    """Eq. 2 on pixels in [0, 1]: round to 8 bits, bin centre of 2^bits bins; backward identity."""

    @staticmethod
    def forward(ctx, x, bits):
        p = torch.clamp(torch.round(x * 255.0), 0, 255)
        if bits == 8:
            return p / 255.0
        w = 256.0 / (1 << bits)
        return (torch.floor(p / w) * w + w / 2.0) / 255.0

    @staticmethod
    def backward(ctx, g):
        return g, None


def train(args, model, x, y):
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    binary_layers = [m for m in model.modules() if isinstance(m, fcn.BinaryLinear)]
    n = x.shape[0]
    gen = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, 100):
            idx = perm[s:s + 100]
            loss = F.cross_entropy(model(QuantizeSTE.apply(x[idx], args.input_bits)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for m in binary_layers:
                    m.weight.clamp_(-1.0, 1.0)


def attack(model, x0, y, eps_pixels, steps, bits, generator):
    """FGSM when steps == 0, else PGD-steps. Returns 8-bit adversarial pixels on [0, 1]."""
    eps = eps_pixels / 255.0
    lo, hi = torch.clamp(x0 - eps, 0, 1), torch.clamp(x0 + eps, 0, 1)
    size = eps if steps == 0 else 2.5 * eps / steps
    x = x0.clone()
    if steps > 0:
        x = torch.min(torch.max(x + (torch.rand(x.shape, generator=generator) * 2 - 1) * eps, lo), hi)
    for _ in range(max(steps, 1)):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(QuantizeSTE.apply(x, bits)), y)
        (g,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = torch.min(torch.max(x + size * torch.sign(g), lo), hi)
    p0 = torch.round(x0 * 255)
    p = torch.min(torch.max(torch.round(x.detach() * 255), p0 - eps_pixels), p0 + eps_pixels)
    return torch.clamp(p, 0, 255) / 255.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", choices=["float", "binary"], default="float")
    ap.add_argument("--input-bits", type=int, default=8, choices=range(1, 9), metavar="1..8")
    ap.add_argument("--epochs", type=int, default=1, help="training epochs before attacking (0 with --load)")
    ap.add_argument("--load", default=None, help="a state_dict saved by --save")
    ap.add_argument("--save", default=None)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="attack only the first N test images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    if args.lr is None:
        args.lr = 0.005 if args.precision == "binary" else 0.001
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    folder = os.path.join(data_root(args.data_dir), "mnist")
    model_args = argparse.Namespace(arch="fcn", hidden=600, depth=4, dropout=0.2, precision=args.precision,
                                    plain_mlp=False)
    model = fcn.build_model(model_args)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    else:
        tr_img, tr_lab = load_split(folder, "train")
        train(args, model, torch.from_numpy(tr_img.astype(np.float32) / 255.0), torch.from_numpy(tr_lab))
    if args.save:
        torch.save(model.state_dict(), args.save)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    te_img, te_lab = load_split(folder, "t10k")
    if args.limit:
        te_img, te_lab = te_img[:args.limit], te_lab[:args.limit]
    x_test = torch.from_numpy(te_img.astype(np.float32) / 255.0)
    y_test = torch.from_numpy(te_lab)
    eps_pixels = float(int(255 * args.eps + 1e-4))

    def accuracy(x):
        with torch.no_grad():
            return sum((model(QuantizeSTE.apply(x[i:i + 1000], args.input_bits)).argmax(1) == y_test[i:i + 1000]).sum().item()
                       for i in range(0, x.shape[0], 1000)) / x.shape[0]

    results = {}
    for name, steps in (("fgsm", 0), ("pgd", args.steps)):
        seconds, robust = [], None
        for r in range(args.repeats):
            gen = torch.Generator().manual_seed(args.seed + r)
            t0 = time.perf_counter()
            adv = torch.cat([attack(model, x_test[i:i + args.batch], y_test[i:i + args.batch], eps_pixels, steps,
                                    args.input_bits, gen) for i in range(0, x_test.shape[0], args.batch)])
            seconds.append(time.perf_counter() - t0)
            robust = accuracy(adv)
        results[name] = (statistics.median(seconds), seconds, robust)
        print(f"{name}{'' if steps == 0 else '-' + str(steps)} eps {args.eps}: median {results[name][0]:.2f} s over "
              f"{args.repeats} runs, robust accuracy {robust:.4f}", flush=True)
    out = {
        "framework": "pytorch", "torch_version": torch.__version__, "threads": args.threads,
        "precision": args.precision, "input_bits": args.input_bits, "eps": args.eps, "steps": args.steps,
        "images": int(x_test.shape[0]), "batch": args.batch, "repeats": args.repeats,
        "clean_accuracy": accuracy(x_test),
        "fgsm_median_seconds": round(results["fgsm"][0], 4), "fgsm_seconds": [round(s, 4) for s in results["fgsm"][1]],
        "fgsm_robust_accuracy": results["fgsm"][2],
        "pgd_median_seconds": round(results["pgd"][0], 4), "pgd_seconds": [round(s, 4) for s in results["pgd"][1]],
        "pgd_robust_accuracy": results["pgd"][2],
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
