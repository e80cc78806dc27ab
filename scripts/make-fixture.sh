#!/usr/bin/env bash
# Regenerates Tests/Fixtures: the small trained models the fast test tier uses instead of training
# its own (Tests/ToolSupport/Fixtures.swift reads them). Deterministic: fixed seeds, the 60,000
# MNIST training images of the data cache (`make data`), no optimizer state kept. The exact commands:
#
#   train fit --dataset mnist --arch fcn --width 64 --depth 2 --precision binary --input-bits 2 \
#       --epochs 3 --batch-size 100 --test-limit 2000 --seed 1 --quiet --out T/fcn-binary-2b.safetensors
#   train fit --dataset mnist --arch fcn --width 64 --depth 1 --precision float --input-bits 8 \
#       --epochs 3 --batch-size 100 --test-limit 2000 --seed 2 --quiet --out T/fcn-float-8b.safetensors
#   train fit --dataset mnist --arch fcn --width 64 --depth 2 --precision binary --input-bits 1 --weight-sparsity 0.9 \
#       --epochs 3 --batch-size 100 --test-limit 2000 --seed 1 --quiet --out T/fcn-ternary-1b.safetensors
#   scripts/strip_optimizer.py T/NAME.safetensors Tests/Fixtures/NAME.safetensors      (both models: drops the
#       Adam moments and zeroes the recorded training seconds, so a rerun gives the same bytes)
#   convert Tests/Fixtures/fcn-binary-2b.safetensors -o Tests/Fixtures/fcn-binary-2b.bsm                    (bits8, the default)
#   convert Tests/Fixtures/fcn-binary-2b.safetensors -o Tests/Fixtures/fcn-binary-2b-columns32.bsm --layout columns32
#   convert T/fcn-ternary-1b.safetensors -o Tests/Fixtures/fcn-ternary-1b-columns32.bsm --layout columns32   (only the .bsm is kept)
#
# fcn-binary-2b is the fixture model (the paper's kind: binary weights and activations, 2-bit input);
# fcn-float-8b is its undefended float companion (attacks whose claims are about float nets on raw
# pixels, and the transfer attack's second model); fcn-ternary-1b is a ternary model (format version 5) that the
# C examples and the device run against the host runtime. Tools: TRAIN and CONVERT, default the release build (`make build` first, so they match the tree).
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN=${TRAIN:-.build/release/train}
CONVERT=${CONVERT:-.build/release/convert}
if [ ! -x "$TRAIN" ] || [ ! -x "$CONVERT" ]; then swift build -c release --product train && swift build -c release --product convert; fi
out=${OUT:-Tests/Fixtures}   # OUT=DIR writes elsewhere (to compare a regeneration with the committed files)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--dataset mnist --arch fcn --epochs 3 --batch-size 100 --test-limit 2000 --quiet)
"$TRAIN" fit "${common[@]}" --width 64 --depth 2 --precision binary --input-bits 2 --seed 1 --out "$tmp/fcn-binary-2b.safetensors"
"$TRAIN" fit "${common[@]}" --width 64 --depth 1 --precision float --input-bits 8 --seed 2 --out "$tmp/fcn-float-8b.safetensors"
"$TRAIN" fit "${common[@]}" --width 64 --depth 2 --precision binary --input-bits 1 --weight-sparsity 0.9 --seed 1 \
    --out "$tmp/fcn-ternary-1b.safetensors"
mkdir -p "$out"
for name in fcn-binary-2b fcn-float-8b; do
    python3 scripts/strip_optimizer.py "$tmp/$name.safetensors" "$out/$name.safetensors"
done
"$CONVERT" "$out/fcn-binary-2b.safetensors" -o "$out/fcn-binary-2b.bsm"
"$CONVERT" "$out/fcn-binary-2b.safetensors" -o "$out/fcn-binary-2b-columns32.bsm" --layout columns32
"$CONVERT" "$tmp/fcn-ternary-1b.safetensors" -o "$out/fcn-ternary-1b-columns32.bsm" --layout columns32
ls -l "$out"
