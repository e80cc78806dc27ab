#!/usr/bin/env bash
# Seconds per training epoch of FCN2 (784-600x4-10, batch 100, dropout 0.2, Adam, cosine), float 8-bit
# and binary 2-bit input: ours beside the PyTorch peer (bench/peer_torch_fcn.py, 2 threads) and the
# JAX peer (bench/peer_jax_fcn.py, float) in the same run, medians over BENCH_EPOCHS epochs, and the
# ratios. Also peak RSS of our runs (GNU time). Peers that are not installed are reported as n/a.
# Then the conv net on 6,000-image slices, wall and CPU seconds; BENCH_WIDE=1 adds FCN1 (see the end of this file).
# Usage: scripts/bench-train.sh   (env: BENCH_EPOCHS, default 3; BENCH_WIDE=1|conv, BENCH_REPEATS, BENCH_SLICE,
#        BENCH_THREADS, BENCH_BASELINE)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${BENCH_EPOCHS:-3}"
train="${BENCH_TRAIN:-.build/release/train}"   # BENCH_TRAIN: another build of train to time
py=.venv-torch/bin/python
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$train" ] || swift build -c release >/dev/null
have_torch=0
[ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null && have_torch=1
jpy=.venv-jax/bin/python
have_jax=0
[ -x "$jpy" ] && "$jpy" -c 'import jax' 2>/dev/null && have_jax=1

last_json() { tail -n 1 "$1"; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['$2'])" "$3"; }

if [ "${BENCH_WIDE:-0}" != conv ]; then
printf '%-16s %12s %12s %12s %10s %12s %9s %11s\n' "network" "ours s/ep" "pytorch s/ep" "ours/torch" "jax s/ep" "ours/jax" "ours acc" "ours RSS MB"
for cfg in "float 8" "binary 2"; do
  set -- $cfg
  /usr/bin/time -f '%M' -o "$out/rss" "$train" --precision "$1" --input-bits "$2" --epochs "$epochs" \
      --out "$out/m.safetensors" --json --quiet > "$out/ours.log"
  ours=$(last_json "$out/ours.log")
  o_s=$(field x median_epoch_seconds "$ours"); o_acc=$(field x test_accuracy "$ours")
  rss=$(( $(cat "$out/rss") / 1024 ))
  if [ "$have_torch" = 1 ]; then
    "$py" bench/peer_torch_fcn.py --precision "$1" --input-bits "$2" --epochs "$epochs" --dropout 0.2 --threads 2 > "$out/torch.log"
    t=$(last_json "$out/torch.log")
    t_s=$(field x median_epoch_seconds "$t")
    ratio=$(python3 -c "print(f'{$o_s/$t_s:.2f}')")
  else
    t_s="n/a"; ratio="n/a"
  fi
  j_s="n/a"; jratio="n/a"
  if [ "$have_jax" = 1 ] && [ "$1" = float ]; then
    "$jpy" bench/peer_jax_fcn.py --input-bits "$2" --epochs "$epochs" --dropout 0.2 > "$out/jax.log"
    j=$(last_json "$out/jax.log")
    j_s=$(python3 -c "import json,sys; print(f\"{json.loads(sys.argv[1])['median_epoch_seconds']:.2f}\")" "$j")
    jratio=$(python3 -c "print(f'{$o_s/$j_s:.2f}')")
  fi
  printf '%-16s %12.2f %12s %12s %10s %12s %9s %11s\n' "fcn2 $1 ${2}b" "$o_s" "$t_s" "$ratio" "$j_s" "$jratio" "$o_acc" "$rss"
done
echo "($epochs epochs each; median epoch seconds, training only; PyTorch $([ $have_torch = 1 ] && "$py" -c 'import torch; print(torch.__version__)' || echo absent) 2 threads; JAX $([ $have_jax = 1 ] && "$jpy" -c 'import jax; print(jax.__version__)' || echo absent), float only)"
fi

# The conv net (in every run) and, with BENCH_WIDE=1, the wide FCN1 (784-6144x4-10, 118 M weights), on
# 6,000-image slices (an FCN1 epoch is minutes; BENCH_SLICE=60000 is a full epoch): ours beside PyTorch, wall
# and CPU seconds (user + system of every thread, measured inside each process around the epoch: ours
# epoch_cpu_seconds, PyTorch's time.process_time()). BENCH_WIDE=conv runs the conv rows only (and skips FCN2).
# Both sides run BENCH_THREADS threads (default 2: OPENBLAS_NUM_THREADS for ours, which sets our workers too,
# torch.set_num_threads for PyTorch). On a shared machine wall seconds mean little and two threads' spin-waits
# inflate CPU seconds with the load (PyTorch's OpenMP threads most: 3.3 s of CPU at one thread, 25 s at two
# with load 15), so compare CPU seconds with BENCH_THREADS=1 there. Each row runs ours and PyTorch
# alternately BENCH_REPEATS times (default 1) and reports the medians and their ratios; BENCH_BASELINE=PATH
# times another train binary (an older build) in the same alternation, as two more columns.

threads="${BENCH_THREADS:-2}"
# "wall cpu" seconds of one epoch over the slice by the train binary $1 (arch, precision, input bits, data set follow).
slice_seconds() {
  local o
  o=$(OPENBLAS_NUM_THREADS="$threads" "$1" --arch "$2" --precision "$3" --input-bits "$4" --dataset "$5" --epochs 1 \
      --train-limit "$slice" --test-limit 100 --out "$out/w.safetensors" --json --quiet | tail -n 1)
  # A build from before epoch_cpu_seconds (a BENCH_BASELINE) reports nan there.
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['epoch_seconds'][0], d.get('epoch_cpu_seconds', ['nan'])[0])" "$o"
}
wide_rows() {
  printf '%-24s %9s %9s %9s %9s %11s %11s %7s %11s\n' "network (${slice} images)" "ours s" "torch s" "ours cpu" \
    "torch cpu" "wall ratio" "cpu ratio" "repeats" "base cpu/t"
  for spec in "$@"; do
    set -- $spec
    extra=(); [ "$1" = fcn1 ] && extra=(--hidden 6144)
    os=(); ts=(); bs=()
    for _ in $(seq "${BENCH_REPEATS:-1}"); do
      os+=("$(slice_seconds "$train" "$@")")
      [ -z "${BENCH_BASELINE:-}" ] || bs+=("$(slice_seconds "$BENCH_BASELINE" "$@")")
      t=$("$py" bench/peer_torch_fcn.py --arch "$([ "$1" = conv ] && echo conv || echo fcn)" "${extra[@]}" \
          --precision "$2" --input-bits "$3" --dataset "$4" --epochs 1 --train-limit "$slice" --dropout 0.2 \
          --threads "$threads" | tail -n 1)
      ts+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['epoch_seconds'][0], d['epoch_cpu_seconds'][0])" "$t")")
    done
    python3 - "$1 $2 ${3}b" "$(IFS=,; echo "${os[*]}")" "$(IFS=,; echo "${ts[*]}")" "$(IFS=,; echo "${bs[*]}")" <<'PY'
import statistics, sys
def runs(text):
    return [tuple(map(float, r.split())) for r in text.split(",") if r]
def med(rs, i):
    return statistics.median(r[i] for r in rs)
o, t, b = runs(sys.argv[2]), runs(sys.argv[3]), runs(sys.argv[4])
line = (f"{sys.argv[1]:<24} {med(o, 0):9.2f} {med(t, 0):9.2f} {med(o, 1):9.2f} {med(t, 1):9.2f} "
        f"{med(o, 0) / med(t, 0):11.2f} {med(o, 1) / med(t, 1):11.2f} {len(o):7d}")
line += f" {med(b, 1) / med(t, 1):11.2f}" if b else f" {'-':>11}"
print(line, "  runs (wall cpu) ours", sys.argv[2], "torch", sys.argv[3], "baseline", sys.argv[4] or "-")
PY
  done
  echo "(medians; $threads thread(s) each side; PyTorch $("$py" -c 'import torch; print(torch.__version__)'))"
}
slice="${BENCH_SLICE:-6000}"
if [ "$have_torch" = 1 ]; then
  rows=("conv float 8 fashion-mnist" "conv binary 2 fashion-mnist")
  [ "${BENCH_WIDE:-0}" = 1 ] && rows=("fcn1 float 8 mnist" "fcn1 binary 2 mnist" "${rows[@]}")
  wide_rows "${rows[@]}"
fi
