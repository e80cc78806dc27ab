#!/bin/bash
# The grid runner on a real Slurm scheduler (issue 18, item 3): installs Debian's slurmctld, slurmd and
# munge (by name, once), starts a single-node cluster on this machine (its own configuration, state and
# ports in a temporary directory; munged is reused when one runs), runs a tiny three-cell grid here with
# `train reproduce --jobs 2`, emits the same grid as Slurm job arrays, submits them with sbatch (the attack
# array waits on the training array: afterok), waits, collects, and requires the collected results.json
# to be byte-for-byte the local run's (both with one BLAS thread per job), a log per task, and every job's
# marker. Everything it started is stopped by process id when it ends.
#
# Exit 0 on success, 1 on failure (with the daemons' logs), 3 when this machine cannot run the daemons
# (no root, no apt): the message says what is missing. BIN= names a directory holding train, convert and
# infer (default: the debug build, built when missing); BITSHIELD_DATA the data cache (MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { echo "slurm-test: $*"; }

if [ "$(id -u)" != 0 ]; then
    say "needs root to install the packages and run slurmd (it starts jobs as their users); skipped"
    exit 3
fi
missing=()
for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { say "no apt-get to install ${missing[*]}; skipped"; exit 3; }
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

BIN=${BIN:-}
if [ -z "$BIN" ]; then
    BIN=$(swift build --show-bin-path)
    [ -x "$BIN/train" ] && [ -x "$BIN/convert" ] && [ -x "$BIN/infer" ] || swift build >/dev/null
fi
BIN=$(cd "$BIN" && pwd)
DATA=${BITSHIELD_DATA:-$HOME/.cache/bitshield/data}
[ -f "$DATA/mnist/train-labels-idx1-ubyte" ] || [ -f "$DATA/mnist/train-labels-idx1-ubyte.gz" ] || { say "no MNIST in $DATA: run make data"; exit 1; }

T=$(mktemp -d /tmp/bitshield-slurm.XXXXXX)
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    if [ $status -ne 0 ] && [ $status -ne 3 ]; then
        for f in "$T"/log/*.log; do [ -f "$f" ] && { echo "---- $f (last 30 lines)"; tail -30 "$f"; }; done
        echo "---- kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT

# munge: reuse a running daemon; else start one as the munge user on the default socket.
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge && chown munge:munge /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- munged || { say "munged did not start"; exit 1; }
    for _ in $(seq 100); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    pids+=("$(cat /run/munge/munged.pid)")
    munge -n </dev/null | unmunge >/dev/null || { say "munge does not authenticate"; exit 1; }
fi

HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mkdir -p "$T/state" "$T/spool" "$T/log"
export SLURM_CONF=$T/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=bitshield-test
SlurmctldHost=$HOST
AuthType=auth/munge
SlurmUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# Each daemon forks into the background and writes its pid file a moment later.
pidof_file() { for _ in $(seq 100); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.1; done; say "no $1"; exit 1; }
slurmctld -f "$SLURM_CONF" || { say "slurmctld did not start"; exit 1; }
pids+=("$(pidof_file "$T/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || { say "slurmd did not start"; exit 1; }
pids+=("$(pidof_file "$T/slurmd.pid")")
for i in $(seq 100); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    [ "$i" = 100 ] && { say "the node did not become idle: $(sinfo 2>&1)"; exit 1; }
    sleep 0.2
done
say "cluster up ($HOST, $CPUS CPUs) after $(( $(date +%s) - start )) s"

# Three cells, two models (a and b share theirs), three attack cells (one shared).
cat > "$T/grid.json" <<'EOF'
{"format": 1, "name": "slurm-test", "attack_settings": {"steps": 3},
 "cells": [
  {"id": "a", "table": "T", "row": "BNN-2b", "paper_net": "fcn2",
   "training": {"dataset": "mnist", "arch": "fcn", "width": 16, "depth": 1, "precision": "binary", "input_bits": 2, "epochs": 2, "batch_size": 50},
   "attacks": ["fgsm"], "eps": [0.2], "paper": {"clean": 96.4, "robust": [60.7]}},
  {"id": "b", "table": "T", "row": "BNN-2b", "paper_net": "fcn2",
   "training": {"dataset": "mnist", "arch": "fcn", "width": 16, "depth": 1, "precision": "binary", "input_bits": 2, "epochs": 2, "batch_size": 50},
   "attacks": ["fgsm", "pgd"], "eps": [0.2], "paper": {"robust": [null]}},
  {"id": "c", "table": "U", "row": "Full-8b", "paper_net": "fcn2",
   "training": {"dataset": "mnist", "arch": "fcn", "width": 16, "depth": 1, "precision": "float", "input_bits": 8, "epochs": 1, "batch_size": 50},
   "attacks": ["fgsm"], "eps": ["51/255"], "paper": {"robust": [38.5]}}
 ]}
EOF
opts=(--data-dir "$DATA" --train-limit 400 --limit 50)
"$BIN/train" reproduce "$T/grid.json" --out "$T/local" --jobs 2 "${opts[@]}" >"$T/log/local.log" || { say "local run failed"; cat "$T/log/local.log"; exit 1; }
say "local run done after $(( $(date +%s) - start )) s"

"$BIN/train" reproduce "$T/grid.json" --out "$T/cluster" "${opts[@]}" --emit slurm "$T/jobs" --sbatch=--mem=1G
"$T/jobs/submit.sh" | tee "$T/log/submit.log"
ids=$(sed -n 's/.*: job \([0-9]*\) .*/\1/p' "$T/log/submit.log" | paste -sd, -)
[ -n "$ids" ] || { say "sbatch submitted nothing"; exit 1; }
for i in $(seq 600); do
    [ -z "$(squeue -h -j "$ids" 2>/dev/null)" ] && break
    if squeue -h -j "$ids" -o %r 2>/dev/null | grep -q DependencyNeverSatisfied; then
        say "a training task failed, so the attack array can never start: $(squeue -j "$ids")"; exit 1
    fi
    [ "$i" = 600 ] && { say "jobs $ids still queued after 300 s: $(squeue)"; exit 1; }
    sleep 0.5
done
"$T/jobs/collect.sh"
tasks=$(ls "$T/cluster/logs" | grep -c -E '^(train|attack)-fcn-[0-9]+_[0-9]+\.log$' || true)
[ "$tasks" = 5 ] || { say "expected 5 task logs, found $tasks: $(ls "$T/cluster/logs")"; exit 1; }
markers=$(find "$T/cluster" -name done.json -o -name result.json | wc -l)
[ "$markers" = 5 ] || { say "expected 5 finished jobs, found $markers"; exit 1; }
if ! cmp "$T/local/results.json" "$T/cluster/results.json"; then
    diff "$T/local/results.json" "$T/cluster/results.json" | head -20
    say "FAILED: the cluster's results differ from the local run's"
    exit 1
fi
say "ok: 2 training and 3 attack tasks under Slurm $(sinfo -V | cut -d' ' -f2), results.json byte-for-byte the local run's, $(( $(date +%s) - start )) s in all"
