#!/usr/bin/env python3
"""Recreates the PyTorch routes of issue 17 and counts mismatches image by image (spec/PYTORCH.md):

  torch     a network trained in PyTorch with bitshield_torch -> bt.save -> `train eval` and
            `convert` -> `infer --scores`; compared with the package's own predictions (the trained
            module, the checkpoint loaded back, and the .bsm loaded back);
  bitshield a checkpoint from `train fit` (or --checkpoint) -> `convert` -> `infer --scores`; compared with
            the checkpoint loaded into PyTorch (bt.load) and with the .bsm loaded into PyTorch.

A mismatch is an image whose predicted class differs from `infer`'s; score mismatches count images whose
scores differ from `infer`'s in any bit. Prints a table and, last, one JSON line.

Usage: torch_routes.py --bin .build/debug --work DIR [--routes torch,bitshield] [--precisions binary,xnor]
         [--hidden 32,32] [--input-bits 2] [--epochs 1] [--train-limit 2000] [--test-limit 1000]
         [--checkpoint CK] [--data-dir DIR]
Figures (full MNIST test set): --hidden 600,600,600,600 --epochs 2 --train-limit 0 --test-limit 0
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import bitshield_torch as bt  # noqa: E402


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def compare(name, classes, scores, ref_classes, ref_scores):
    """(class mismatches, score mismatches) of one side against infer's."""
    cm = int((classes != ref_classes).sum())
    sm = int((scores.view(torch.int32) != ref_scores.view(torch.int32)).any(dim=1).sum())
    return {"side": name, "mismatches": cm, "score_mismatches": sm}


def fgsm_torch(model, images, labels, eps, batch=500):
    """FGSM as `train attack --attack fgsm` runs it (Attacker+FGSM.swift): eps' = floor(255 eps)/255, one
    step of eps' * sign(dL/dx) (sign(0) = 0: no step), projected to the ball and [0, 1], stored as uint8
    pixels rounded half away from zero and clamped to the pixel budget."""
    budget = int(255 * eps + 1e-4)
    size = torch.tensor(budget / 255, dtype=torch.float32)
    out = []
    model.eval()
    for i in range(0, len(images), batch):
        p0 = torch.from_numpy(images[i:i + batch].astype("float32")).reshape(len(images[i:i + batch]), -1)
        x0 = p0 / 255
        x = x0.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(labels[i:i + batch].astype("int64")), reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
        xa = x0 + size * torch.sign(g)
        xa = torch.minimum(torch.maximum(xa, (x0 - size).clamp(min=0)), (x0 + size).clamp(max=1))
        p = bt.pixels_of(xa)
        p = torch.minimum(torch.maximum(p, (p0 - budget).clamp(min=0)), (p0 + budget).clamp(max=255))
        out.append(p.to(torch.uint8))
    return torch.cat(out).numpy().reshape(images.shape)


def fgsm_figures(args, work, tag, ck, bsm, test_x, test_y, limit_args, data_args):
    """`train attack --attack fgsm` beside FGSM in PyTorch on the loaded checkpoint and on the loaded .bsm:
    images identical to ours, and robust accuracy of each (scored by the .bsm module, i.e. infer)."""
    prefix = os.path.join(work, tag + "-fgsm")
    t0 = time.time()
    run([os.path.join(args.bin, "train"), "attack", ck, "--attack", "fgsm", "--eps", str(args.fgsm), "--out", prefix,
         "--quiet"] + limit_args + data_args)
    ours_seconds = time.time() - t0
    ours = bt.load_idx_images(prefix + "-images-idx3-ubyte")
    scorer = bt.load(bsm)
    labels = torch.from_numpy(test_y.astype("int64"))
    rows = [{"side": "train attack", "robust_accuracy": float((bt.predictions(scorer, ours)[0] == labels).float().mean()),
             "identical_to_ours": len(ours), "seconds": round(ours_seconds, 1)}]
    for name, model in [("torch on checkpoint", bt.load(ck)), ("torch on .bsm (surrogate)", scorer)]:
        t0 = time.time()
        adv = fgsm_torch(model, test_x, test_y, args.fgsm)
        seconds = time.time() - t0
        same = int((adv.reshape(len(adv), -1) == ours.reshape(len(ours), -1)).all(axis=1).sum())
        rows.append({"side": name, "robust_accuracy": float((bt.predictions(scorer, adv)[0] == labels).float().mean()),
                     "identical_to_ours": same, "seconds": round(seconds, 1)})
    for r in rows:
        print("%-22s fgsm %-4s %-26s robust %.4f  identical to train attack %d/%d  %.1f s"
              % (tag, args.fgsm, r["side"], r["robust_accuracy"], r["identical_to_ours"], len(test_y), r["seconds"]))
    return rows


def golden(directory):
    """bt.load of every spec/golden/vN-*.bsm on the spec's 16 inputs against vN-expected.json, bit for bit."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from check_golden import golden_inputs
    import numpy as np
    x = np.array(golden_inputs(), dtype=np.uint8)
    results = []
    for v in (1, 2, 3):
        with open(os.path.join(directory, "v%d-expected.json" % v)) as f:
            expected = json.load(f)
        for name, cases in sorted(expected.items()):
            classes, scores = bt.predictions(bt.load(os.path.join(directory, name + ".bsm")), x)
            bits = scores.numpy().view(np.uint32)
            bad = sum(int(classes[i]) != c["class"] or list(map(int, bits[i])) != c["scores"] for i, c in enumerate(cases))
            results.append({"model": name, "inputs": len(cases), "mismatches": bad})
            print("%-16s %d inputs, %d differ from the expected class or scores" % (name, len(cases), bad))
    print(json.dumps({"golden": results, "mismatches": sum(r["mismatches"] for r in results)}, separators=(",", ":")))


def tool_side(args, work, tag, ck, limit_args, data_args):
    bsm = os.path.join(work, tag + ".bsm")
    run([os.path.join(args.bin, "convert"), ck, "-o", bsm])
    ip, isc = os.path.join(work, tag + ".infer-pred"), os.path.join(work, tag + ".infer-scores")
    run([os.path.join(args.bin, "infer"), bsm, "--predictions", ip, "--scores", isc] + limit_args + data_args)
    tp, tsc = os.path.join(work, tag + ".eval-pred"), os.path.join(work, tag + ".eval-scores")
    run([os.path.join(args.bin, "train"), "eval", ck, "--predictions", tp, "--scores", tsc, "--quiet"] + limit_args + data_args)
    return bsm, (bt.read_predictions(ip), bt.read_scores(isc)), (bt.read_predictions(tp), bt.read_scores(tsc))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--routes", default="torch,bitshield")
    ap.add_argument("--precisions", default="binary,xnor")
    ap.add_argument("--hidden", default="32,32")
    ap.add_argument("--input-bits", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=2000)
    ap.add_argument("--test-limit", type=int, default=1000)
    ap.add_argument("--checkpoint", help="a BitShield checkpoint for the bitshield route (else train fit makes one)")
    ap.add_argument("--data-dir")
    ap.add_argument("--arch", default="fcn", choices=["fcn", "conv"],
                    help="conv: the torch route trains ConvNet(--conv-channels, --hidden); the bitshield route runs "
                         "train fit --arch conv (conv 32, conv 64, then --hidden's width and depth)")
    ap.add_argument("--conv-channels", default="32,64")
    ap.add_argument("--golden", help="only check the package on spec/golden (this directory): every class and score")
    ap.add_argument("--fgsm", type=float, help="also FGSM at this eps: train attack beside PyTorch on both loads")
    args = ap.parse_args()
    if args.golden:
        return golden(args.golden)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.makedirs(args.work, exist_ok=True)
    hidden = [int(h) for h in args.hidden.split(",")]
    data_args = ["--data-dir", args.data_dir] if args.data_dir else []
    limit_args = ["--limit", str(args.test_limit)] if args.test_limit else []
    test_x, test_y = bt.mnist_test(args.data_dir)
    if args.test_limit:
        test_x, test_y = test_x[:args.test_limit], test_y[:args.test_limit]
    results = []
    for route in args.routes.split(","):
        for precision in args.precisions.split(","):
            tag = "%s-%s%s-%db" % (route, "conv-" if args.arch == "conv" else "", precision, args.input_bits)
            t0 = time.time()
            sides = []
            if route == "torch":
                train_x, train_y = bt.mnist_train(args.data_dir)
                if args.train_limit:
                    train_x, train_y = train_x[:args.train_limit], train_y[:args.train_limit]
                torch.manual_seed(1)
                geometry = tuple(test_x.shape[1:]) + ((1,) if test_x.ndim == 3 else ())
                if args.arch == "conv":
                    model = bt.ConvNet([int(c) for c in args.conv_channels.split(",")], hidden, precision=precision,
                                       input_bits=args.input_bits, input=geometry)
                else:
                    model = bt.FCN(hidden, precision=precision, input_bits=args.input_bits, input=geometry)
                seconds = bt.fit(model, train_x, train_y, epochs=args.epochs,
                                 lr=0.005 if precision != "float" else 0.001)
                ck = os.path.join(args.work, tag + ".safetensors")
                own = bt.predictions(model, test_x)
                bt.save(model, ck, epochs=args.epochs, seconds=seconds,
                        test_accuracy=float((own[0] == torch.from_numpy(test_y.astype("int64"))).float().mean()))
                sides.append(("trained module", own))
            elif route == "bitshield":
                if args.checkpoint:
                    ck = args.checkpoint
                else:
                    ck = os.path.join(args.work, tag + ".safetensors")
                    if os.path.exists(ck):
                        os.remove(ck)
                    run([os.path.join(args.bin, "train"), "fit", "--arch", args.arch, "--width", str(hidden[0]),
                         "--depth", str(len(hidden)), "--precision", precision, "--input-bits", str(args.input_bits),
                         "--epochs", str(args.epochs), "--out", ck, "--quiet", "--test-limit", "100"]
                        + (["--train-limit", str(args.train_limit)] if args.train_limit else []) + data_args)
            else:
                raise SystemExit("unknown route %r (torch, bitshield)" % route)
            bsm, infer_out, eval_out = tool_side(args, args.work, tag, ck, limit_args, data_args)
            sides.append(("train eval", eval_out))
            sides.append(("checkpoint in torch", bt.predictions(bt.load(ck), test_x)))
            sides.append((".bsm in torch", bt.predictions(bt.load(bsm), test_x)))
            rows = [compare(name, c, s, *infer_out) for name, (c, s) in sides]
            accuracy = float((infer_out[0] == torch.from_numpy(test_y.astype("int64"))).float().mean())
            results.append({"route": tag, "images": len(test_y), "infer_accuracy": accuracy, "checkpoint": ck,
                            "sides": rows, "seconds": round(time.time() - t0, 1)})
            if args.fgsm is not None:
                results[-1]["fgsm"] = fgsm_figures(args, args.work, tag, ck, bsm, test_x, test_y, limit_args, data_args)
            for r in rows:
                print("%-22s %-20s %6d images  class mismatches %d  score mismatches %d  (infer accuracy %.4f)"
                      % (tag, r["side"], len(test_y), r["mismatches"], r["score_mismatches"], accuracy))
            if args.checkpoint:
                break
    total = sum(r["mismatches"] for res in results for r in res["sides"])
    print(json.dumps({"routes": results, "mismatches": total}, separators=(",", ":")))


if __name__ == "__main__":
    main()
