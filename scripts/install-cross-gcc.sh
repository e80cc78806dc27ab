#!/usr/bin/env bash
# Installs Debian's aarch64 Linux cross compiler, only when missing (idempotent: a second run installs
# nothing and prints one line). `make lib` uses it to link-test the aarch64 Linux libbitshield.a
# (scripts/check-c-examples.sh); nothing else needs it.
#   gcc-aarch64-linux-gnu   aarch64-linux-gnu-gcc and its binutils
#   libc6-dev-arm64-cross   the arm64 C library: headers, crt files, libc to link against
set -euo pipefail
want=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "cross-gcc: all present (${want[*]}; $(aarch64-linux-gnu-gcc -dumpversion))"
  exit 0
fi
echo "cross-gcc: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "cross-gcc: installed ${missing[*]} ($(aarch64-linux-gnu-gcc -dumpversion))"
