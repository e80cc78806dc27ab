#!/usr/bin/env bash
# Host inference speed of two `infer` binaries side by side in one run: they alternate (A B A B ...),
# RUNS times each (default 5), on the same model and data, single thread; prints each run and the
# medians of µs/image at batch 1 and images/s at batch 256, and the ratio B / A. Alternating spreads the
# machine's noise (other jobs, turbo) over both binaries instead of over one.
#
#   scripts/bench-compare.sh INFER_A INFER_B MODEL.bsm [extra infer options]
#   RUNS=7 scripts/bench-compare.sh ...
# `make bench BASELINE=<commit>` calls it with the baseline's build as A and the current one as B.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 INFER_A INFER_B MODEL.bsm [infer options]" >&2; exit 64; }
a="$1"; b="$2"; model="$3"; shift 3
runs="${RUNS:-5}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "error: RUNS must be a positive integer, got '$runs'" >&2; exit 64; }
for bin in "$a" "$b"; do [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 1; }; done
[ -f "$model" ] || { echo "error: model $model not found" >&2; exit 1; }
results=$(mktemp); trap 'rm -f "$results"' EXIT
for i in $(seq "$runs"); do
  for side in A B; do
    bin=$a; [ "$side" = B ] && bin=$b
    line=$("$bin" "$model" --json --threads 1 --batch 256 "$@" | tail -n 1)
    echo "$side $line" >> "$results"
  done
done
python3 - "$results" "$a" "$b" <<'PY'
import json, statistics, sys
rows = {"A": [], "B": []}
for line in open(sys.argv[1]):
    side, text = line.split(" ", 1)
    rows[side].append(json.loads(text))
def med(side, key): return statistics.median(r[key] for r in rows[side])
for side, path in (("A", sys.argv[2]), ("B", sys.argv[3])):
    lat = [f"{r['latency_us']:.2f}" for r in rows[side]]
    ips = [f"{r['images_per_second']:.0f}" for r in rows[side]]
    print(f"{side} {path}: µs/image b1 {lat}, images/s b256 {ips}")
    print(f"  median {med(side, 'latency_us'):.2f} µs/image, {med(side, 'images_per_second'):,.0f} images/s, "
          f"accuracy {rows[side][0]['accuracy']:.4f}, arena {rows[side][0]['arena_bytes']} B")
acc = {r['accuracy'] for s in rows for r in rows[s]}
print(f"ratio B/A ({len(rows['A'])} runs each, alternating): latency {med('B', 'latency_us') / med('A', 'latency_us'):.3f}x, "
      f"throughput {med('B', 'images_per_second') / med('A', 'images_per_second'):.3f}x"
      + ("" if len(acc) == 1 else f"; ACCURACY DIFFERS: {sorted(acc)}"))
PY
