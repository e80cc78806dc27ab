#!/usr/bin/env python3
"""Copies a `train` checkpoint (safetensors) without its optimizer state or its wall time.

usage: strip_optimizer.py IN.safetensors OUT.safetensors

Drops every tensor named `optimizer.*` (Adam's two moments, SGD's one: two thirds of an Adam
checkpoint) and keeps the metadata and every other tensor's bytes unchanged, in their original
order, except the training time in the `progress` metadata (`seconds`), set to 0 so that the copy
depends on the training only (the fixture is then byte for byte reproducible). `convert` and
`Checkpoint.read` accept a checkpoint without optimizer state (resuming from one starts the
optimizer afresh). Standard library only; the output is a pure function of the input.
"""
import json
import struct
import sys


def main(src: str, dst: str) -> None:
    with open(src, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__", None)
    kept = sorted(((k, v) for k, v in header.items() if not k.startswith("optimizer.")),
                  key=lambda kv: kv[1]["data_offsets"][0])
    out_header, chunks, offset = {}, [], 0
    if meta is not None:
        if "progress" in meta:
            progress = json.loads(meta["progress"])
            progress["seconds"] = 0
            meta["progress"] = json.dumps(progress, separators=(",", ":"))
        out_header["__metadata__"] = meta
    for name, info in kept:
        begin, end = info["data_offsets"]
        chunks.append(data[begin:end])
        out_header[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [offset, offset + end - begin]}
        offset += end - begin
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the header padded with spaces to 8 bytes, as safetensors writers do
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
