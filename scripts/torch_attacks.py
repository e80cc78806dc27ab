#!/usr/bin/env python3
"""The ecosystem's attacks on BitShield models, beside `train attack`'s, scored by our runtime (issue 17, item 3).

Usage:
  torch_attacks.py --bin DIR --work DIR CKPT [CKPT ...] [--eps 0.1,0.2,0.3] [--limit 10000] [--aa-limit 1000]
                   [--attacks fgsm,pgd,edge,ta-pgd,autoattack] [--via checkpoint|bsm] [--out PREFIX]

For each checkpoint (written by `train`) and each eps it runs, on the first --limit MNIST test images:
  ours:  `train attack --attack fgsm|pgd|edge` (PGD-40, CE, one random start, the FGSM point scored beside it;
         edge: that PGD start, then the search until 30 rounds break no new image, at most 300);
  torch: torchattacks 3.5.1 PGD (40 steps, step 2.5 eps'/40, random start, as ours without the FGSM point) and AutoAttack
         (standard version: APGD-CE, APGD-T, FAB-T, Square; on the first --aa-limit images, its cost),
         on the model loaded with bitshield_torch (`--via checkpoint`: the trainer's straight-through
         gradients, the default; `--via bsm`: the .bsm with its surrogate gradient),
at eps' = floor(255 eps)/255. Every adversarial image is rounded to uint8 and clipped to the image's
pixel ball (|x' - x| <= floor(255 eps)) and to [0, 255], written as an IDX pair and scored by OUR RUNTIME
(`infer MODEL.bsm --predictions`), so no attack wins on budget or on float inputs. Per image the worst
case over ours and over everything is reported too.

Resumable: every finished cell (model sha256, eps, attack, images) is a line of WORK/journal.jsonl and is
not rerun. Writes PREFIX.md (a Markdown table) and PREFIX.json (default WORK/attacks).
Needs .venv-torch with torchattacks (`make torchattacks`) and the release tools (`swift build -c release`).
"""
import argparse, hashlib, json, os, struct, subprocess, sys, time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))

import torch  # noqa: E402
import bitshield_torch as bt  # noqa: E402

OURS = ["fgsm", "pgd", "edge"]
THEIRS = ["ta-pgd", "autoattack"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_idx(prefix, images, labels):
    """The IDX pair `infer --images --labels` reads (uint8 [N, 28, 28], labels [N])."""
    n, h, w = images.shape
    with open(prefix + "-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, h, w) + images.astype(np.uint8).tobytes())
    with open(prefix + "-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes())


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-2000:]))
    return r.stdout


def runtime_correct(args, bsm, prefix, labels):
    """Per image: does our runtime classify the stored adversarial image correctly?"""
    pred = prefix + "-predictions.txt"
    run([os.path.join(args.bin, "infer"), bsm, "--images", prefix + "-images-idx3-ubyte",
         "--labels", prefix + "-labels-idx1-ubyte", "--predictions", pred])
    p = bt.read_predictions(pred).numpy()
    return (p == labels).astype(np.uint8)


def to_ball(adv, clean_u8, budget):
    """Float adversarial pixels [N, 1, 28, 28] on [0, 1] -> uint8 within `budget` pixel steps of the clean ones."""
    x = np.rint(adv.detach().cpu().numpy().reshape(clean_u8.shape) * 255.0)
    c = clean_u8.astype(np.int32)
    x = np.clip(x, c - budget, c + budget)
    return np.clip(x, 0, 255).astype(np.uint8)


class Logits(torch.nn.Module):
    """NCHW [N, 1, 28, 28] pixels on [0, 1] (what torchattacks passes) -> the loaded module's scores."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], -1))


def torch_attack(name, model, x, y, eps, seed):
    import torchattacks
    torch.manual_seed(seed)
    if name == "ta-pgd":
        atk = torchattacks.PGD(model, eps=eps, alpha=2.5 * eps / 40, steps=40, random_start=True)
    else:
        atk = torchattacks.AutoAttack(model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=seed)
    out = []
    for i in range(0, len(x), 500):
        out.append(atk(x[i:i + 500], y[i:i + 500]))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--eps", default="0.1,0.2,0.3")
    ap.add_argument("--limit", type=int, default=10000)
    ap.add_argument("--aa-limit", type=int, default=1000)
    ap.add_argument("--attacks", default=",".join(OURS + THEIRS))
    ap.add_argument("--via", choices=["checkpoint", "bsm"], default="checkpoint")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    os.makedirs(args.work, exist_ok=True)
    journal = os.path.join(args.work, "journal.jsonl")
    done = {}
    if os.path.exists(journal):
        with open(journal) as f:
            for line in f:
                try:
                    c = json.loads(line)
                    done[(c["sha256"], c["eps"], c["attack"], c["images"])] = c
                except (ValueError, KeyError):
                    print("journal: ignoring a bad line", file=sys.stderr)
    images, labels = bt.mnist_test()
    attacks = args.attacks.split(",")
    cells = []
    for ck in args.checkpoints:
        digest = sha256(ck)
        stem = os.path.join(args.work, digest[:12])
        bsm = stem + ".bsm"
        if not os.path.exists(bsm):
            run([os.path.join(args.bin, "convert"), ck, "-o", bsm])
        model = None
        for eps in [float(e) for e in args.eps.split(",")]:
            budget = int(np.floor(255 * eps + 1e-9))
            for attack in attacks:
                n = min(args.aa_limit if attack == "autoattack" else args.limit, len(images))
                key = (digest, eps, attack, n)
                if key in done:
                    cells.append(done[key])
                    continue
                prefix = "%s-%s-%g-%d" % (stem, attack, eps, n)
                x_u8, y = images[:n], labels[:n]
                t0 = time.time()
                if attack in OURS:
                    out = run([os.path.join(args.bin, "train"), "attack", ck, "--attack", attack, "--eps", str(eps),
                               "--limit", str(n), "--seed", str(args.seed), "--out", prefix, "--json", "--quiet"])
                    seconds = json.loads(out.strip().splitlines()[-1]).get("attack_seconds", time.time() - t0)
                else:
                    if model is None:
                        net = bt.load(bsm if args.via == "bsm" else ck)
                        if args.via == "checkpoint":
                            bt.fast_(net)   # float layers by matmul: same gradient, scores come from infer
                        model = Logits(net).eval()
                    x = torch.from_numpy(x_u8.astype(np.float32) / 255).reshape(n, 1, 28, 28)
                    adv = torch_attack(attack, model, x, torch.from_numpy(y.astype(np.int64)), budget / 255, args.seed)
                    seconds = time.time() - t0
                    write_idx(prefix, to_ball(adv, x_u8, budget), y)
                correct = runtime_correct(args, bsm, prefix, y)
                cell = {"checkpoint": ck, "sha256": digest, "eps": eps, "pixel_budget": budget, "attack": attack,
                        "images": n, "robust_accuracy": float(correct.mean()), "seconds": round(seconds, 2),
                        "via": args.via if attack in THEIRS else "train attack", "correct": "".join(map(str, correct))}
                with open(journal, "a") as f:
                    f.write(json.dumps(cell) + "\n")
                print("%s eps %g %-10s %5d images  robust %.4f  %.1f s" % (os.path.basename(ck), eps, attack, n,
                                                                           cell["robust_accuracy"], seconds), flush=True)
                cells.append(cell)
    # The report covers every journalled cell of these models and budgets (earlier runs with other
    # --attacks included), the largest sample per attack.
    shas = {c["sha256"] for c in cells}
    best = {}
    with open(journal) as f:
        for line in f:
            try:
                c = json.loads(line)
            except ValueError:
                continue
            k = (c.get("sha256"), c.get("eps"), c.get("attack"))
            if k[0] in shas and k[1] in {c2["eps"] for c2 in cells} and (k not in best or c["images"] > best[k]["images"]):
                best[k] = c
    report(args, list(best.values()))


def report(args, cells):
    """The table: per model and eps, each attack's robust accuracy (runtime-scored) and seconds, and the worst
    case per image over ours and over all, on the images every attack saw."""
    rows = []
    groups = {}
    for c in cells:
        groups.setdefault((c["checkpoint"], c["eps"]), []).append(c)
    for (ck, eps), cs in groups.items():
        n = min(c["images"] for c in cs)
        n_ours = min([c["images"] for c in cs if c["attack"] in OURS] or [0])
        worst = {}
        for which, names, m in (("ours", OURS, n_ours), ("ours_common", OURS, n), ("all", OURS + THEIRS, n)):
            masks = [np.array([int(ch) for ch in c["correct"][:m]]) for c in cs if c["attack"] in names]
            if masks and m:
                worst[which] = float(np.min(masks, axis=0).mean())
        rows.append({"checkpoint": ck, "eps": eps, "pixel_budget": cs[0]["pixel_budget"], "common_images": n,
                     "attacks": {c["attack"]: {"robust_accuracy": c["robust_accuracy"], "images": c["images"],
                                               "seconds": c["seconds"], "via": c["via"]} for c in cs},
                     "ours_images": n_ours, "worst_ours": worst.get("ours"), "worst_ours_common": worst.get("ours_common"),
                     "worst_all": worst.get("all")})
    prefix = args.out or os.path.join(args.work, "attacks")
    names = [a for a in OURS + THEIRS if any(a in r["attacks"] for r in rows)]
    lines = ["| model | eps (pixels) | " + " | ".join(names) + " | worst of ours | worst of ours, first N | worst of all, first N |",
             "|---|---|" + "---|" * len(names) + "---|---|---|"]
    for r in rows:
        def cell(a):
            c = r["attacks"].get(a)
            return "%.2f%% (%d, %.0f s)" % (100 * c["robust_accuracy"], c["images"], c["seconds"]) if c else "-"
        pct = lambda v: "-" if v is None else "%.2f%%" % (100 * v)
        lines.append("| %s | %g (%d) | %s | %s (%d) | %s | %s (N = %d) |" % (
            os.path.basename(r["checkpoint"]), r["eps"], r["pixel_budget"], " | ".join(cell(a) for a in names),
            pct(r["worst_ours"]), r["ours_images"], pct(r["worst_ours_common"]), pct(r["worst_all"]), r["common_images"]))
    text = "\n".join(lines) + ("\n\nCells: robust accuracy scored by `infer` on the stored uint8 images (images attacked, attack seconds); "
                                "worst: per image, correct under every attack of the set (the first N images, which all attacks saw).\n")
    with open(prefix + ".md", "w") as f:
        f.write(text)
    with open(prefix + ".json", "w") as f:
        json.dump({"rows": rows, "via": args.via}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
