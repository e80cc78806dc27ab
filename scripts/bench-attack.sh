#!/usr/bin/env bash
# Seconds of crafting (scoring excluded, on both sides) for FGSM and PGD-40 (BPDA, eps 0.1, batch 500) over the 10,000 MNIST test images on FCN2
# (784-600x4-10): ours (`train attack`, both cores) beside the PyTorch peer (bench/peer_torch_attack.py,
# 2 threads) in the same run, medians over BENCH_REPEATS runs each, and the ratio ours/PyTorch.
# Each side attacks its own FCN2 trained for BENCH_TRAIN_EPOCHS epochs (default 1: the timing does not
# depend on the weights; the accuracies printed beside are only a sanity check). Float 8-bit input, and
# binary 2-bit input. PyTorch absent (make torch): its columns read n/a.
# Usage: scripts/bench-attack.sh   (env: BENCH_REPEATS, default 3; BENCH_TRAIN_EPOCHS, default 1;
#        BENCH_LIMIT, attack only the first N test images; BENCH_CONFIGS, default "float:8 binary:2")
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${BENCH_REPEATS:-3}"
epochs="${BENCH_TRAIN_EPOCHS:-1}"
configs="${BENCH_CONFIGS:-float:8 binary:2}"
limit=()
[ -n "${BENCH_LIMIT:-}" ] && limit=(--limit "$BENCH_LIMIT")
train=.build/release/train
py=.venv-torch/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$train" ] || swift build -c release --product train >/dev/null
have_torch=0
[ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null && have_torch=1

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$2" "$1"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }

printf '%-16s %-7s %10s %12s %11s %12s %13s\n' "network" "attack" "ours s" "pytorch s" "ours/torch" "ours robust" "torch robust"
for cfg in $configs; do
  precision=${cfg%%:*}; bits=${cfg##*:}
  "$train" --precision "$precision" --input-bits "$bits" --epochs "$epochs" --out "$out/m.safetensors" --quiet > /dev/null
  declare -A ours=() robust=()
  for attack in fgsm pgd; do
    times=()
    for _ in $(seq "$repeats"); do
      j=$("$train" attack "$out/m.safetensors" --attack "$attack" --eps 0.1 --steps 40 "${limit[@]}" \
          --out "$out/adv" --json --quiet | tail -n 1)
      times+=("$(field attack_seconds "$j")")
      robust[$attack]=$(field robust_accuracy "$j")
    done
    ours[$attack]=$(median "${times[@]}")
  done
  if [ "$have_torch" = 1 ]; then
    t=$("$py" bench/peer_torch_attack.py --precision "$precision" --input-bits "$bits" --epochs "$epochs" --eps 0.1 \
        --steps 40 --repeats "$repeats" --threads 2 "${limit[@]}" | tail -n 1)
  fi
  for attack in fgsm pgd; do
    if [ "$have_torch" = 1 ]; then
      ts=$(python3 -c "import json,sys; print(f\"{json.loads(sys.argv[1])['${attack}_median_seconds']:.2f}\")" "$t")
      tr=$(python3 -c "import json,sys; print(f\"{json.loads(sys.argv[1])['${attack}_robust_accuracy']:.4f}\")" "$t")
      ratio=$(python3 -c "print(f'{${ours[$attack]}/$ts:.2f}')")
    else
      ts="n/a"; tr="n/a"; ratio="n/a"
    fi
    name=$attack; [ "$attack" = pgd ] && name=pgd-40
    printf '%-16s %-7s %10s %12s %11s %12.4f %13s\n' "fcn2 $precision ${bits}b" "$name" "${ours[$attack]}" "$ts" "$ratio" "${robust[$attack]}" "$tr"
  done
done
echo "(eps 0.1, $([ -n "${BENCH_LIMIT:-}" ] && echo "first $BENCH_LIMIT" || echo 10,000) MNIST test images, batch 500; median of $repeats runs; models trained $epochs epoch(s) each side; PyTorch $([ $have_torch = 1 ] && "$py" -c 'import torch; print(torch.__version__)' || echo absent), 2 threads)"
