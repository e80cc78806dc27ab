#!/usr/bin/env bash
# make verify-full: issue 16's full certified-robustness runs. Trains (once) the two models the issue names,
#   FCN2 BNN-2b:    train --arch fcn2 --precision binary --input-bits 2 --epochs 10 --seed 1
#   Cortex-M0 net:  train --arch fcn --width 256 --depth 2 --precision binary --input-bits 2 --epochs 10 --seed 1
#                   (784-256-256-10, converted with --layout columns32 as docs/EMBEDDING.md says),
#   and, when VERIFY_MODELS names it, the verification-friendly FCN2 (docs/VERIFY.md):
#   fcn2-cert:      the FCN2 command with --input-bits 1 --certify-eps 0.1 --certify-weight 0.25 --certify-layers 4
#                   (the ε ramp at its default, 3 of the 10 epochs; docs/VERIFY.md, seventh slice: 97.02% clean),
#   fcn2-tern:      the fcn2-cert command with --weight-sparsity 0.9: ternary weights, 90% zero (format version 5;
#                   97.73% clean, session 11; docs/VERIFY.md, tenth slice),
#   m0-tern:        the Cortex-M0 command with --weight-sparsity 0.8 (ternary, 97.87% clean, session 11),
#   fcn2-tern2:     the fcn2-tern command with --certify-eps 0.2 (97.69% clean, session 12),
#   fcn2-tern3:     the fcn2-tern2 command with --weight-sparsity 0.95 (97.63% clean, session 12: every image decided
#                   at eps 0.1 within 3 s),
#   m0-cert:        the Cortex-M0 command with --input-bits 1 --weight-sparsity 0.9 --certify-eps 0.1 --certify-weight 0.25
#                   --certify-layers 2 (97.26% clean, session 12: every image decided at eps 0.1 and 0.2),
# then runs `verify` on the first VERIFY_LIMIT MNIST test images (default all 10,000) at eps 0.1 and 0.2 with
# the default 60 s limit (CPU seconds of the one search thread, verify's default --clock cpu), attacks the same images with
# FGSM, PGD and the edge attack (scored by infer on the same .bsm), and writes the table to VERIFY_REPORT
# (default reports/verify-full.md).
#
# Resumable: every verify run keeps a journal (one line per decided image) in VERIFY_DIR, and a rerun picks up
# where it stopped; an interrupted training run resumes from its checkpoint (a model counts as trained once
# its .bsm exists). Days of CPU at 60 s per undecided image: run it on its own machine, not in `make test`.
# Settings (environment): VERIFY_LIMIT, VERIFY_TIMEOUT (s, default 60), VERIFY_EPS (default "0.1 0.2"),
# VERIFY_MODELS (default "fcn2 m0"; "fcn2-cert", "fcn2-tern", "fcn2-tern2", "fcn2-tern3", "m0-tern" and "m0-cert" add the verification-friendly ones), VERIFY_DIR (default runs/verify-full), VERIFY_REPORT,
# RELEASE (a directory with train, convert and verify to use instead of .build/release and the native verify),
# VERIFY_JOBS (images searched at once, verify --jobs; default nproc: each image's limit is its own thread's CPU time).
set -euo pipefail
cd "$(dirname "$0")/.."

release=${RELEASE:-.build/release}
# verify itself is built for this CPU (scripts/build-native.sh: popcnt and AVX2 or AVX-512), unless RELEASE names
# the binaries: on this machine the generic build runs the leaf stage at 0.57x the native one's images per CPU
# second (docs/VERIFY.md, eighth slice), and every figure is against a 60-CPU-s limit.
if [ -n "${RELEASE:-}" ]; then verify="$release/verify"; else verify=$(scripts/build-native.sh "" verify); fi
[ -x "$verify" ] || { echo "verify-full: $verify is missing (make build)" >&2; exit 1; }
limit=${VERIFY_LIMIT:-10000}
timeout=${VERIFY_TIMEOUT:-60}
epsilons=${VERIFY_EPS:-0.1 0.2}
models=${VERIFY_MODELS:-fcn2 m0}
jobs=${VERIFY_JOBS:-$(nproc 2>/dev/null || echo 1)}
dir=${VERIFY_DIR:-runs/verify-full}
report=${VERIFY_REPORT:-reports/verify-full.md}
case $limit in ''|*[!0-9]*) echo "verify-full: VERIFY_LIMIT '$limit' is not a whole number of images" >&2; exit 64;; esac
case $jobs in ''|*[!0-9]*) echo "verify-full: VERIFY_JOBS '$jobs' is not a whole number" >&2; exit 64;; esac
[ "$limit" -ge 1 ] && [ "$limit" -le 10000 ] || { echo "verify-full: VERIFY_LIMIT $limit is outside 1...10000" >&2; exit 64; }
for tool in train convert infer; do
    [ -x "$release/$tool" ] || { echo "verify-full: $release/$tool is missing (make build)" >&2; exit 1; }
done
mkdir -p "$dir" "$(dirname "$report")"

# train_model NAME LAYOUT ARGS...: trains runs/verify-full/NAME.safetensors (resuming a checkpoint an earlier
# run left) and converts it to NAME.bsm, unless the .bsm exists.
train_model() {
    local name=$1 layout=$2; shift 2
    local ck="$dir/$name.safetensors" bsm="$dir/$name.bsm"
    [ -f "$bsm" ] && return 0
    if [ -f "$ck" ]; then
        "$release/train" --resume "$ck" --epochs 10
    else
        "$release/train" --dataset mnist --precision binary --epochs 10 --seed 1 "$@" --out "$ck"
    fi
    "$release/convert" "$ck" --layout "$layout" -o "$bsm"      # written atomically
}

for m in $models; do
    case $m in
        fcn2) train_model fcn2 bits8 --arch fcn2 --input-bits 2 ;;
        m0) train_model m0 columns32 --arch fcn --width 256 --depth 2 --input-bits 2 ;;
        fcn2-cert) train_model fcn2-cert bits8 --arch fcn2 --input-bits 1 --certify-eps 0.1 --certify-weight 0.25 --certify-layers 4 ;;
        fcn2-tern) train_model fcn2-tern bits8 --arch fcn2 --input-bits 1 --weight-sparsity 0.9 --certify-eps 0.1 --certify-weight 0.25 --certify-layers 4 ;;
        fcn2-tern2) train_model fcn2-tern2 bits8 --arch fcn2 --input-bits 1 --weight-sparsity 0.9 --certify-eps 0.2 --certify-weight 0.25 --certify-layers 4 ;;
        fcn2-tern3) train_model fcn2-tern3 bits8 --arch fcn2 --input-bits 1 --weight-sparsity 0.95 --certify-eps 0.2 --certify-weight 0.25 --certify-layers 4 ;;
        m0-tern) train_model m0-tern columns32 --arch fcn --width 256 --depth 2 --input-bits 2 --weight-sparsity 0.8 ;;
        m0-cert) train_model m0-cert columns32 --arch fcn --width 256 --depth 2 --input-bits 1 --weight-sparsity 0.9 \
                     --certify-eps 0.1 --certify-weight 0.25 --certify-layers 2 ;;
        *) echo "verify-full: unknown model '$m' in VERIFY_MODELS (fcn2, m0, fcn2-cert, fcn2-tern, fcn2-tern2, fcn2-tern3, m0-tern, m0-cert)" >&2; exit 64 ;;
    esac
done

rows=()
for m in $models; do
    for eps in $epsilons; do
        out="$dir/$m-eps$eps-n$limit.json"
        # The journal is per model and budget; a longer rerun (a larger VERIFY_LIMIT) reuses the decided images.
        "$verify" "$dir/$m.bsm" --eps "$eps" --dataset mnist --limit "$limit" --timeout "$timeout" \
            --journal "$dir/$m-eps$eps.journal" --jobs "$jobs" --json | tail -n 1 > "$out.part"
        mv "$out.part" "$out"
        # The attacks beside it, on the same images and the same .bsm: train attack crafts each set on the
        # checkpoint (its defaults: STE gradients, PGD-40, the edge attack's stop rule), infer scores it on the
        # .bsm that verify read. Kept once made (a rerun with the same limit reuses them).
        for a in fgsm pgd edge; do
            adv="$dir/$m-$a-eps$eps-n$limit"
            [ -f "$adv.json" ] && continue
            OPENBLAS_NUM_THREADS=1 "$release/train" attack "$dir/$m.safetensors" --attack "$a" --eps "$eps" --limit "$limit" \
                --out "$adv" --quiet --json > /dev/null
            "$release/infer" "$dir/$m.bsm" --images "$adv-images-idx3-ubyte" --labels "$adv-labels-idx1-ubyte" --no-timing --json \
                | tail -n 1 > "$adv.json.part"
            mv "$adv.json.part" "$adv.json"
        done
        rows+=("$m|$out|$dir/$m-fgsm-eps$eps-n$limit.json|$dir/$m-pgd-eps$eps-n$limit.json|$dir/$m-edge-eps$eps-n$limit.json")
    done
done

python3 - "$report" "$limit" "$timeout" "${rows[@]}" <<'EOF'
import json, sys
report, limit, timeout, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
names = {"fcn2": "FCN2 BNN-2b", "m0": "Cortex-M0 784-256-256-10", "fcn2-cert": "FCN2 BNN-1b, certify ε 0.1 W 0.25 (4 layers)",
         "fcn2-tern": "FCN2 1b ternary (90% zero), certify ε 0.1 W 0.25 (4 layers)", "m0-tern": "Cortex-M0 net, ternary (80% zero)",
         "fcn2-tern2": "FCN2 1b ternary (90% zero), certify ε 0.2 W 0.25 (4 layers)",
         "fcn2-tern3": "FCN2 1b ternary (95% zero), certify ε 0.2 W 0.25 (4 layers)",
         "m0-cert": "Cortex-M0 net 1b ternary (90% zero), certify ε 0.1 W 0.25 (2 layers)"}
lines = ["# Certified robustness, full runs (`make verify-full`, issue 16)", "",
         f"`verify MODEL.bsm --eps E --dataset mnist --limit {limit} --timeout {timeout} --journal ...`: one thread, "
         "branch and bound, times in CPU seconds of the search thread (`--clock cpu`; docs/VERIFY.md). "
         "Models trained by scripts/verify-full.sh (10 epochs, seed 1); images resumed from a journal keep their first run's time.", "",
         "FGSM, PGD and edge: `train attack CHECKPOINT --attack A --eps E --limit N` (its defaults), the images scored by "
         "`infer` on the same .bsm. Gap: the strongest attack's figure less the certified one (the unknowns, and any image "
         "the attacks miss); an attack below the certified figure would be a bug and is flagged.", "",
         "| model | eps | images | proved | counterexample | unknown | certified | FGSM | PGD | edge | gap (points) | clean | median s | p90 s | max s |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for row in rows:
    model, path, *attacks = row.split("|")
    r = json.load(open(path))
    accuracy = [json.load(open(a))["accuracy"] for a in attacks]
    certified = r["certified_accuracy"]
    flag = " **below certified: bug**" if min(accuracy) < certified else ""
    lines.append(f"| {names.get(model, model)} | {r['eps']} | {r['images']} | {r['robust']} | {r['counterexample']} | {r['unknown']} | "
                 f"{100 * certified:.2f}% | " + " | ".join(f"{100 * a:.2f}%" for a in accuracy) +
                 f" | {100 * (min(accuracy) - certified):.2f}{flag} | {100 * r['clean_accuracy']:.2f}% | {r['time_median_s']:.3f} | "
                 f"{r['time_p90_s']:.3f} | {r['time_max_s']:.3f} |")
open(report + ".part", "w").write("\n".join(lines) + "\n")
EOF
mv "$report.part" "$report"
echo "verify-full: wrote $report"
cat "$report"
