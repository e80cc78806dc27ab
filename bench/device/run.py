#!/usr/bin/env python3
"""Runs one C peer's firmware (build.sh) over the test images under QEMU netduinoplus2 with
-icount shift=0, the way `infer --device` runs BitShield's, and checks every image's class and output
hash against the host emulation (models.py). Prints one JSON object on the last line of stdout.

    run.py BUILD_DIR MODELS_DIR MODEL [--jobs J]       MODEL: s8 | bin

The images go to the board in runs of at most 167 (the 128 KiB payload area). Exit 1 when QEMU or the
firmware fails, or when an image's class or output hash differs from the emulation (after the JSON).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

PAYLOAD_ADDRESS = 0x080E0000
PAYLOAD_BYTES = 128 * 1024
HEADER = 16
IMAGE = 784
PER_RUN = (PAYLOAD_BYTES - HEADER) // IMAGE
MAGIC = 0x44425342   # "BSBD", firmware/runner.c


def fields(words):
    return {k: int(v) for k, v in (w.split("=", 1) for w in words)}


def run_chunk(qemu, elf, pixels, first, scratch):
    count = len(pixels) // IMAGE
    path = os.path.join(scratch, f"payload-{first}.bin")
    with open(path, "wb") as f:
        f.write(struct.pack("<IIII", MAGIC, count, IMAGE, first) + pixels)
    seconds = 120 + count   # CMSIS-NN int8 runs about 3 M instructions an image
    cmd = ["timeout", "--kill-after=5", str(seconds), qemu, "-M", "netduinoplus2", "-nographic", "-monitor", "none",
           "-serial", "none", "-semihosting-config", "enable=on,target=native", "-icount", "shift=0",
           "-kernel", elf, "-device", f"loader,file={path},addr={PAYLOAD_ADDRESS:#x}"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or "done" not in lines:
        problem = next((l for l in lines if l.startswith(("error", "fatal"))), None) or p.stderr.strip()[-300:]
        raise SystemExit(f"error: {elf} failed on images {first}..<{first + count} (qemu exit {p.returncode}): {problem}")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("models")
    ap.add_argument("model", choices=["s8", "bin"])
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    qemu = shutil.which("qemu-system-arm")
    if not qemu:
        sys.exit("error: qemu-system-arm not found: run scripts/install-device.sh (make device)")
    with open(os.path.join(a.models, f"expected_{a.model}.json")) as f:
        expected = json.load(f)
    with open(os.path.join(a.build, "sizes.json")) as f:
        sizes = json.load(f)
    with open(os.path.join(a.models, "images.bin"), "rb") as f:
        images = f.read()
    n = len(images) // IMAGE
    if n != len(expected["classes"]) or len(images) % IMAGE:
        sys.exit(f"error: images.bin holds {len(images)} B ({n} images), expected_{a.model}.json {len(expected['classes'])} images")
    started = time.time()
    chunks = [(s, min(s + PER_RUN, n)) for s in range(0, n, PER_RUN)]
    elf = os.path.join(a.build, "fw.elf")
    with tempfile.TemporaryDirectory(prefix="bench-device-") as scratch, ThreadPoolExecutor(max(1, a.jobs)) as pool:
        outputs = list(pool.map(lambda c: run_chunk(qemu, elf, images[c[0] * IMAGE:c[1] * IMAGE], c[0], scratch), chunks))
    counts, agreeing, memory, model, name, first_difference = {}, 0, None, None, None, None
    for lines in outputs:
        for line in lines:
            w = line.split()
            if not w:
                continue
            if w[0] == "r":
                i, cls, digest, instructions = int(w[1]), int(w[2]), int(w[3], 16), int(w[4])
                counts[i] = instructions
                if cls == expected["classes"][i] and digest == expected["hashes"][i]:
                    agreeing += 1
                elif first_difference is None:
                    first_difference = (f"image {i}: class {cls} hash {digest:08x}, emulation class {expected['classes'][i]} "
                                        f"hash {expected['hashes'][i]:08x}")
            elif w[0] == "peer":
                name = w[1].split("=", 1)[1]
            elif w[0] == "model":
                model = fields(w[1:])
            elif w[0] == "memory":
                m = fields(w[1:])
                if memory is None or m["stack_high_water"] > memory["stack_high_water"]:
                    memory = dict(m, stack_call_site=max(m["stack_call_site"], (memory or m)["stack_call_site"]))
                else:
                    memory["stack_call_site"] = max(memory["stack_call_site"], m["stack_call_site"])
    if sorted(counts) != list(range(n)):
        sys.exit(f"error: {len(counts)} of {n} images reported by the firmware")
    values = [counts[i] for i in range(n)]
    ram = memory["data"] + memory["bss"] + memory["stack_high_water"]
    result = dict(
        peer=sizes["peer"], network=name, compiler=sizes["compiler"], optimization=sizes["optimization"],
        images=n, qemu_runs=len(chunks), seconds=round(time.time() - started, 1),
        agreeing=agreeing, host_agreement=agreeing / n,
        instructions_per_inference=round(sum(values) / n), instructions_min=min(values), instructions_max=max(values),
        ram_bytes=ram, data_bytes=memory["data"], bss_bytes=memory["bss"], arena_bytes=model["arena_bytes"],
        stack_high_water_bytes=memory["stack_high_water"], stack_call_site_bytes=memory["stack_call_site"],
        flash_bytes=sizes["flash_bytes"], code_bytes=sizes["code_bytes"], model_bytes=sizes["model_bytes"],
        model_bytes_distinct=expected["model_bytes_distinct"])
    print(json.dumps(result))
    if agreeing != n:
        sys.exit(f"error: {n - agreeing} of {n} {result['peer']} outputs differ from the host emulation (first: {first_difference})")


if __name__ == "__main__":
    main()
