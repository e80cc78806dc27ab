#!/usr/bin/env python3
"""Per-step time of two or more `infer` binaries side by side in one run (issue 15's measurements):
`infer MODEL --threads 1 --batch 256 --profile --limit LIMIT` (thread CPU time per plan step, batch 1
and batch 256), the binaries alternating in turn PAIRS times (the order reversed every other round, so
the machine's noise falls on all of them), then per binary and step the median and range of each column.

  scripts/profile-compare.py [--pairs 8] [--limit 2000] MODEL.bsm NAME=INFER [NAME=INFER ...]
"""
import argparse, statistics, subprocess, sys

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model")
parser.add_argument("binaries", nargs="+", help="NAME=PATH of an infer binary")
parser.add_argument("--pairs", type=int, default=8)
parser.add_argument("--limit", type=int, default=2000)
args = parser.parse_args()
bins = []
for spec in args.binaries:
    if "=" not in spec:
        parser.error(f"binary '{spec}' must be NAME=PATH")
    bins.append(tuple(spec.split("=", 1)))
if args.pairs < 1 or args.limit < 1:
    parser.error(f"--pairs and --limit must be positive (got {args.pairs}, {args.limit})")

results = {name: {} for name, _ in bins}
for i in range(args.pairs):
    for name, path in (bins if i % 2 == 0 else bins[::-1]):
        run = subprocess.run([path, args.model, "--threads", "1", "--batch", "256", "--profile", "--limit", str(args.limit)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"error: {path} exited {run.returncode}: {run.stderr.strip()}")
        lines = run.stdout.splitlines()
        head = next((k for k, line in enumerate(lines) if line.lstrip().startswith("step  ops")), None)
        if head is None:
            sys.exit(f"error: {path} printed no profile table")
        for line in lines[head + 1:]:
            f = line.split()
            key = "total" if f[0] == "total" else f"{f[0]} {f[2]}"
            results[name].setdefault(key, []).append((float(f[-2]), float(f[-1])))

print(f"ns per image, medians (ranges) of {args.pairs} alternated runs, thread CPU time")
for name, _ in bins:
    print(f"== {name}")
    for key, values in results[name].items():
        b1, b256 = sorted(v[0] for v in values), sorted(v[1] for v in values)
        print(f"  {key:28s} batch 1 {statistics.median(b1):7.0f} ({b1[0]:.0f}-{b1[-1]:.0f})"
              f"  batch 256 {statistics.median(b256):7.0f} ({b256[0]:.0f}-{b256[-1]:.0f})")
