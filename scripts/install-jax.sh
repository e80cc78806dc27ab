#!/usr/bin/env bash
# Creates $REPO/.venv-jax with CPU JAX from PyPI (jax + jaxlib CPU wheels, numpy, and
# optax when it installs), for the JAX peer benchmark bench/peer_jax_fcn.py.
# Idempotent: if the venv already imports jax and numpy it prints one line and exits 0.
# Exit 3 means "cannot install JAX on this machine" (callers treat it as skip).
# optax is optional: bench/peer_jax_fcn.py falls back to a hand-written Adam without it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-jax"
PY="$VENV/bin/python"

if [ -x "$PY" ] && v="$("$PY" -c 'import jax, numpy; print(jax.__version__)' 2>/dev/null)"; then
  echo "jax: present in $VENV (jax $v)"
  exit 0
fi

if [ ! -x "$PY" ] && ! python3 -m venv "$VENV"; then
  echo "jax: could not create venv $VENV; skipping" >&2
  exit 3
fi
if ! "$PY" -m pip install -q --disable-pip-version-check jax numpy; then
  echo "jax: 'pip install jax numpy' failed (no network / no wheel for this platform?); skipping" >&2
  exit 3
fi
if ! "$PY" -c 'import jax, jax.numpy as jnp; jnp.zeros(1).block_until_ready()' 2>/dev/null; then
  echo "jax: installed but 'import jax' fails in $VENV; skipping" >&2
  exit 3
fi
"$PY" -m pip install -q --disable-pip-version-check optax \
  || echo "jax: optax did not install; the peer uses its hand-written Adam" >&2
v="$("$PY" -c 'import jax, jaxlib, numpy; print(jax.__version__, "jaxlib", jaxlib.__version__, "numpy", numpy.__version__)')"
o="$("$PY" -c 'import optax; print("optax", optax.__version__)' 2>/dev/null || echo "no optax")"
echo "jax: installed jax $v ($o) into $VENV"
