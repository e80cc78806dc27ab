#!/usr/bin/env bash
# Creates $REPO/.venv-torch with the CPU PyTorch wheel found on this machine
# (plus numpy), for the PyTorch peer benchmark bench/peer_torch_fcn.py.
# Idempotent: if the venv already imports torch it prints one line and exits 0.
# Exit 3 means "no CPU torch wheel on this machine" (callers treat it as skip).
# torch's own dependencies (sympy, networkx, ...) and numpy come from PyPI.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-torch"
PY="$VENV/bin/python"

if [ -x "$PY" ] && v="$("$PY" -c 'import torch, numpy; print(torch.__version__)' 2>/dev/null)"; then
  echo "torch: present in $VENV (torch $v)"
  exit 0
fi

wheel=""
for w in /opt/wheels/torch-*cpu*.whl; do
  [ -f "$w" ] && { wheel="$w"; break; }
done
if [ -z "$wheel" ]; then
  wheel="$(find / -name 'torch-*cpu*.whl' -not -path '/proc/*' 2>/dev/null | head -1 || true)"
fi
if [ -z "$wheel" ]; then
  echo "torch: no CPU torch wheel found (/opt/wheels/torch-*cpu*.whl or elsewhere); skipping" >&2
  exit 3
fi

[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -m pip install -q --disable-pip-version-check "$wheel" numpy
v="$("$PY" -c 'import torch, numpy; print(torch.__version__, "numpy", numpy.__version__)')"
echo "torch: installed torch $v into $VENV from $(basename "$wheel")"
