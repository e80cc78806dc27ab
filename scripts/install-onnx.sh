#!/usr/bin/env bash
# Creates $REPO/.venv-onnx with ONNX Runtime (CPU), onnx and numpy from PyPI, for the
# int8 inference peer benchmark bench/peer_onnx_fcn.py.
# Idempotent: if the venv already imports onnxruntime, onnx and numpy it prints one line and exits 0.
# Exit 3 means "cannot install ONNX Runtime on this machine" (callers treat it as skip).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-onnx"
PY="$VENV/bin/python"
CHECK='import onnxruntime, onnx, numpy, onnxruntime.quantization; print(onnxruntime.__version__)'

if [ -x "$PY" ] && v="$("$PY" -c "$CHECK" 2>/dev/null)"; then
  echo "onnx: present in $VENV (onnxruntime $v)"
  exit 0
fi

if [ ! -x "$PY" ] && ! python3 -m venv "$VENV"; then
  echo "onnx: could not create venv $VENV; skipping" >&2
  exit 3
fi
if ! "$PY" -m pip install -q --disable-pip-version-check onnxruntime onnx numpy; then
  echo "onnx: 'pip install onnxruntime onnx numpy' failed (no network / no wheel for this platform?); skipping" >&2
  exit 3
fi
if ! "$PY" -c "$CHECK" >/dev/null 2>&1; then
  echo "onnx: installed but 'import onnxruntime, onnx' fails in $VENV; skipping" >&2
  exit 3
fi
v="$("$PY" -c 'import onnxruntime, onnx, numpy; print(onnxruntime.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__)')"
echo "onnx: installed onnxruntime $v into $VENV"
