#!/usr/bin/env bash
# Installs torchattacks 3.5.1 (which includes AutoAttack: APGD-CE, APGD-T, FAB, Square) into
# $REPO/.venv-torch for scripts/torch_attacks.py, WITHOUT replacing the CPU torch wheel that
# scripts/install-torch.sh put there: `pip install --no-deps`, then its dependencies by name.
# What torchattacks 3.5.1 imports (checked in its source): torch and numpy (present), scipy (tifgsm.py
# and pifgsmpp.py at import time: the package's __init__ fails without it), tqdm only inside a
# try/except (wrappers/lgv.py), requests nowhere, although its setup.py lists it. So: scipy, --no-deps
# as well (its only dependency, numpy, is there). Idempotent: if the venv imports torchattacks 3.5.1
# and the torch version is unchanged it prints one line and exits 0. Exit 3: no torch venv (callers skip).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$REPO/.venv-torch/bin/python"
"$REPO/scripts/install-torch.sh" || exit $?
want=3.5.1
if v="$("$PY" -c 'import torchattacks, torch; print(torchattacks.__version__, torch.__version__)' 2>/dev/null)" \
   && [ "${v%% *}" = "$want" ]; then
  echo "torchattacks: present in $REPO/.venv-torch ($v: torchattacks, torch)"
  exit 0
fi
before="$("$PY" -c 'import torch; print(torch.__version__)')"
"$PY" -m pip install -q --disable-pip-version-check --no-deps "torchattacks==$want" scipy
after="$("$PY" -c 'import torchattacks, scipy, torch; print(torch.__version__)')"
if [ "$before" != "$after" ]; then
  echo "torchattacks: torch changed from $before to $after (it must not)" >&2
  exit 1
fi
echo "torchattacks: installed torchattacks $want with scipy, --no-deps; torch $after unchanged"
