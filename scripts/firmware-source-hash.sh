#!/usr/bin/env bash
# Prints the source hash of the device firmware for BOARD: the rule and the paths it covers are in
# Firmware/sources.list (the one place; `infer --device` applies the same rule to its tree).
#   scripts/firmware-source-hash.sh BOARD
set -euo pipefail
cd "$(dirname "$0")/.."
board="${1:?usage: scripts/firmware-source-hash.sh BOARD}"
mapfile -t paths < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' Firmware/sources.list | grep -v '^$')
for p in "${paths[@]}"; do
  [ -e "$p" ] || { echo "error: $p (listed in Firmware/sources.list) does not exist" >&2; exit 1; }
done
{
  printf 'bitshield-firmware-sources 1\nboard=%s\n' "$board"
  find "${paths[@]}" -type f ! -path '*/.*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --
} | sha256sum | cut -d' ' -f1
