#!/usr/bin/env python3
"""Where a device inference spends its instructions: per function and per layer, from QEMU's exec trace.

  scripts/device-profile.py MODEL.bsm [--board netduinoplus2] [--dataset mnist] [--top 12] [--kernel ELF]

Runs `infer MODEL --device BOARD --limit 1` (the debug build of this tree, or $INFER) through a
qemu-system-arm wrapper that adds `-d in_asm,exec,nochain` (every translated block and each time it
runs), then counts retired instructions per function (the firmware's symbols) and per layer: a layer
starts where a binary layer's kernel entry point runs (ColumnDenseKernel.levels / pixels / bits / bitsBounds,
BlockedDenseKernel's, FusedDense/FusedConv's, XorConv32/PlaneConv32's), so its count holds its kernel, its column sums, its
sink and the steps up to the next layer. --kernel runs another firmware ELF in QEMU instead of this
tree's (one built from a base commit's sources, to compare; infer still checks this tree's). Validation (init) comes before the first layer and is left
out; the count after the last layer includes the firmware's reporting. Slow (a log of ~250 MB for
FCN2 with its 7 M-instruction validation) and for development only: `make bench-device` and
DeviceTests are the measures of record.
"""
import argparse, bisect, collections, os, re, subprocess, sys, tempfile

LAYER_ENTRIES = re.compile(r'ColumnDenseKernelO(6levels|6pixels|4bits|10bitsBounds)|BlockedDenseKernelO|FusedDenseKernelO|FusedConvKernelO3run|XorConv32KernelO3run|PlaneConv32KernelO3run')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model'); ap.add_argument('--board', default='netduinoplus2'); ap.add_argument('--dataset', default='mnist')
    ap.add_argument('--top', type=int, default=12); ap.add_argument('--kernel')
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    infer = os.environ.get('INFER', os.path.join(root, '.build/debug/infer'))
    elf = a.kernel or os.path.join(root, '.build-firmware', a.board, 'firmware.elf')
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, 'qemu.log')
        real = subprocess.run(['sh', '-c', 'command -v qemu-system-arm'], capture_output=True, text=True).stdout.strip()
        with open(os.path.join(d, 'qemu-system-arm'), 'w') as f:
            swap = f'for x in "$@"; do shift; if [ "$prev" = -kernel ]; then x={elf}; fi; set -- "$@" "$x"; prev="$x"; done\n' if a.kernel else ''
            f.write(f'#!/bin/sh\n{swap}exec {real} "$@" -d in_asm,exec,nochain -D {log}\n')
        os.chmod(os.path.join(d, 'qemu-system-arm'), 0o755)
        env = dict(os.environ, PATH=d + ':' + os.environ['PATH'])
        r = subprocess.run([infer, a.model, '--device', a.board, '--dataset', a.dataset, '--limit', '1'], env=env, capture_output=True, text=True)
        if r.returncode != 0: sys.exit(r.stderr)
        print([l for l in r.stdout.splitlines() if 'instructions per inference' in l][0])
        syms = []
        for l in subprocess.run(['arm-none-eabi-nm', '-n', '-S', elf], capture_output=True, text=True).stdout.splitlines():
            p = l.split()
            if len(p) >= 4 and p[2] in 'tTwW': syms.append((int(p[0], 16), int(p[1], 16), p[3]))
        starts = [s[0] for s in syms]
        def sym(pc):
            i = bisect.bisect_right(starts, pc) - 1
            return syms[i][2] if i >= 0 and pc < syms[i][0] + syms[i][1] else hex(pc)
        entries = {s[0] for s in syms if LAYER_ENTRIES.search(s[2])}
        size, cur, n = {}, None, 0
        funcs, layers, layer = collections.Counter(), collections.Counter(), -1
        for line in open(log, errors='replace'):
            if line.startswith('IN:'): cur, n = None, 0
            elif line.startswith('0x0'):
                if cur is None: cur = int(line[:10], 16)
                n += 1
            elif line.startswith('Trace'):
                if cur is not None: size[cur], cur = n, None
                pc = int(re.search(r'\[[0-9a-f]+/([0-9a-f]+)/', line).group(1), 16)
                if pc in entries and (layer < 0 or layers[layer] > 64): layer += 1   # pixels handing over to levels: one layer
                if layer >= 0:
                    layers[layer] += size.get(pc, 0)
                    funcs[sym(pc)] += size.get(pc, 0)
        for k in sorted(layers): print(f'layer {k + 1}: {layers[k]:9d}' + ('  (and the firmware after the inference)' if k == max(layers) else ''))
        print('functions (from the first layer on):')
        for s, c in funcs.most_common(a.top): print(f'{c:9d}  {s[:110]}')

main()
