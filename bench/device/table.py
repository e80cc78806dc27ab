#!/usr/bin/env python3
"""The `make bench-device` table: BitShield's `infer --device --json` object beside the C peers' run.py
objects, as Markdown on stdout and one JSON file.

    table.py OUT_JSON BITSHIELD_JSON [PEER_JSON ...]

BITSHIELD_JSON and each PEER_JSON are files holding one JSON object; a peer file may instead hold
{"peer": NAME, "skipped": REASON}, listed under the table. Ratios are peer / BitShield.
"""
import json
import os
import sys

FLASH = 1024 * 1024   # the netduinoplus2's STM32F405
LABELS = {
    "cmsis-s8": "CMSIS-NN int8 `arm_fully_connected_s8` (what TFLM runs on Cortex-M), {compiler}",
    "binary-gcc": "plain C binary XNOR-popcount, row by row, {compiler}",
    "binary-clang": "plain C binary XNOR-popcount, row by row, {compiler}",
}


def compiler_name(text):
    return ("clang " if text.startswith("clang") else "GCC ") + text.split()[-2 if text.startswith("arm") else 2]


def bitshield_row(o):
    code = o.get("code_bytes", o["firmware_flash_bytes"])
    ram = (f"{o['ram_bytes']:,} (arena {o['arena_bytes']:,} + stack {o['stack_high_water_bytes']:,} + heap {o['heap_bytes']:,}"
           f" + data/bss {o['data_bytes'] + o['bss_bytes']:,})")
    return dict(name="bitshield", label=f"BitShield, binary 2-bit input, `columns32s` (--target mcu), Embedded Swift {o.get('firmware_optimization', '')}".rstrip(),
                instructions=o["instructions_per_inference"], ram=o["ram_bytes"], ram_text=ram, code=code,
                model=o["image_bytes"], agreeing=o["agreeing"], images=o["images"], accuracy=o.get("accuracy"))


def peer_row(o):
    label = LABELS.get(o["peer"], o["peer"]).format(compiler=f"{compiler_name(o['compiler'])} {o['optimization']}")
    ram = (f"{o['ram_bytes']:,} (buffers {o['arena_bytes']:,} + stack {o['stack_high_water_bytes']:,}"
           f" + other data/bss {o['data_bytes'] + o['bss_bytes'] - o['arena_bytes']:,})")
    model = f"{o['model_bytes']:,}"
    if o["model_bytes_distinct"] != o["model_bytes"]:
        model += f" (shared hidden matrix; distinct: {o['model_bytes_distinct']:,})"
    return dict(name=o["peer"], label=label, instructions=o["instructions_per_inference"], ram=o["ram_bytes"], ram_text=ram,
                code=o["code_bytes"], model=o["model_bytes"], model_text=model, agreeing=o["agreeing"], images=o["images"],
                accuracy=None)


def ratio(value, base):
    return f"{value / base:.2f}x" if base else "n/a"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: table.py OUT_JSON BITSHIELD_JSON [PEER_JSON ...]")
    out, paths = sys.argv[1], sys.argv[2:]
    objects = []
    for p in paths:
        with open(p) as f:
            objects.append(json.load(f))
    ours = bitshield_row(objects[0])
    peers = [o for o in objects[1:] if "skipped" not in o]
    skipped = [o for o in objects[1:] if "skipped" in o]
    rows = [ours] + [peer_row(o) for o in peers]
    n = ours["images"]
    print(f"| FCN2 (784-600x4-10), QEMU netduinoplus2 (Cortex-M4) | instructions / inference (MNIST test mean, {n:,} images) "
          "| x BitShield | RAM B | x | code B | x | model B | x | agreement with its host emulation |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['instructions']:,} | {ratio(r['instructions'], ours['instructions'])} | {r['ram_text']} "
              f"| {ratio(r['ram'], ours['ram'])} | {r['code']:,} | {ratio(r['code'], ours['code'])} "
              f"| {r.get('model_text', format(r['model'], ','))} | {ratio(r['model'], ours['model'])} | {r['agreeing']:,} / {r['images']:,} |")
    print()
    print("Instructions: TIM2 under QEMU `-icount shift=0` (one tick per retired instruction), each inference bracketed by two "
          "counter reads minus the cost of one read, mean over the same test images for every row.")
    print("RAM: .data + .bss + the stack's high-water mark over the whole firmware (+ arena and heap for BitShield), as "
          "`infer --device` counts it. Code: the firmware's flash minus the model. Model: the bytes in flash the network reads.")
    print("x BitShield: the row's figure divided by BitShield's (above 1.00x, BitShield needs less).")
    for o in peers:
        if o["model_bytes_distinct"] != o["model_bytes"]:
            distinct = o["code_bytes"] + o["model_bytes_distinct"]
            print(f"The {o['peer']} peer's hidden layers 2-4 share ONE 600x600 weight matrix (each keeps its own bias and "
                  f"requantization) so that it fits the board's flash ({o['flash_bytes']:,} of {FLASH:,} B used); with distinct "
                  f"weights its firmware would need {distinct:,} B ({'does not fit' if distinct > FLASH else 'fits'}). "
                  "Instruction counts do not depend on weight values.")
    print("The C peers run random weights (seeded; bench/device/models.py) and are checked image by image, class and "
          "output hash, against an exact host emulation; BitShield's agreement is with its host runtime"
          + (f" (its accuracy on these images: {ours['accuracy']:.4f})." if ours["accuracy"] is not None else "."))
    if "init_instructions" in objects[0]:
        print(f"BitShield's start-up (validate the image, plan the arena): {objects[0]['init_instructions']:,} instructions, once.")
    for o in skipped:
        print(f"Skipped: {o['peer']}: {o['skipped']}")
    result = dict(images=n, bitshield=objects[0], peers=peers, skipped=skipped,
                  ratios={r["name"]: dict(instructions=r["instructions"] / ours["instructions"], ram=r["ram"] / ours["ram"],
                                          code=r["code"] / ours["code"], model=r["model"] / ours["model"]) for r in rows[1:]})
    tmp = out + ".part"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
