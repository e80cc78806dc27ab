#!/usr/bin/env python3
"""ONNX Runtime int8 inference peer of BitShield's runtime, on one of our trainer checkpoints.

Reads a float FCN checkpoint written by the Swift trainer (safetensors, parsed here by hand),
folds every BatchNorm into the preceding fully connected layer, builds an ONNX graph
(MatMul + Add, + Clip (hardtanh) or Relu for hidden layers), saves it, quantizes it to int8 with
onnxruntime.quantization static quantization (calibrated on MNIST training images) and measures,
on ONE thread: batch-1 latency (median per run), batch-256 throughput (median of passes), int8
and float test accuracy, and both model file sizes. The peer gets its best configuration: both int8
weight quantizations (per-tensor and per-channel) are built and measured --runs times each, alternating,
and the faster one at batch 256 (median over runs) is the peer's figure; both are printed with their
spread (min..max over runs).

Input: 8-bit pixels are discretized in numpy exactly as the trainer does (input_bits b from the
checkpoint: b = 8 -> p/255, else bin centres ((p >> (8-b)) * 2^(8-b) + 2^(8-b)/2) / 255); the
ONNX models take float32 [N, H*W*C].

Prints a short summary, then ONE JSON line (the last line on stdout). Setup: scripts/install-onnx.sh.
Usage: peer_onnx_fcn.py CHECKPOINT [--data-dir D] [--limit N] [--work-dir W]
"""
import argparse
import gzip
import json
import logging
import os
import statistics
import struct
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)

BN_EPS = 1e-5
CALIBRATION_IMAGES = 500
THROUGHPUT_BATCH = 256
THROUGHPUT_PASSES = 3
OPSET = 17
# Static int8 setup: QDQ (ORT's recommended CPU format; at load its QDQ transformer turns
# MatMul + Add into QLinearMatMul + QLinearAdd and drops the Clip into the output quantization,
# the same kernels QOperator gives, at the same speed here), uint8 activations (int8 activations
# were as fast in QDQ but ~20x slower in QOperator on ORT 1.32), int8 weights per-tensor AND
# per-channel (both measured; the faster is the peer's figure), MinMax calibration, reduce_range off.
QUANT_FORMAT = QuantFormat.QDQ
WEIGHT_GRANULARITIES = (("per-tensor", False), ("per-channel", True))
ACTIVATION_TYPE = QuantType.QUInt8
WEIGHT_TYPE = QuantType.QInt8

from bitshield_data import data_root, discretize, read_idx_gz  # noqa: E402  (bench/bitshield_data.py)


# ---- inputs -------------------------------------------------------------------------


def mnist_dir(data_dir):
    """--data-dir, else $BITSHIELD_DATA, else ${XDG_CACHE_HOME:-~/.cache}/bitshield/data; the
    IDX files may sit in that folder itself or in its mnist/ subfolder."""
    root = data_root(data_dir)
    for d in (os.path.join(root, "mnist"), root):
        if os.path.exists(os.path.join(d, "t10k-images-idx3-ubyte.gz")):
            return d
    raise FileNotFoundError(f"no MNIST IDX files (t10k-images-idx3-ubyte.gz) in {root} or {root}/mnist "
                            "(scripts/fetch-data.sh downloads them)")



# ---- checkpoint ---------------------------------------------------------------------

def read_safetensors(path):
    """(F32 tensors by name without optimizer.* state, __metadata__). Plain Python + numpy."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for safetensors")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} beyond file size {len(raw)}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        if info.get("dtype") != "F32" or name.startswith("optimizer."):
            continue
        start, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - start != 4 * count or base + end > len(raw):
            raise ValueError(f"{path}: tensor {name} offsets {start}..{end} do not fit shape {shape}")
        tensors[name] = np.frombuffer(raw, dtype="<f4", count=count, offset=base + start).reshape(shape).astype(np.float32)
    return tensors, meta


def folded_layers(tensors, model):
    """[(W' [in,out] float32, bias [out] float32)] with each BatchNorm folded into its layer."""
    widths = list(model["hidden"]) + [int(model["classes"])]
    layers = []
    for i, _ in enumerate(widths):
        w = tensors[f"fc{i}.weight"]  # [out, in]
        gamma, beta = tensors[f"bn{i}.weight"], tensors[f"bn{i}.bias"]
        mean, var = tensors[f"bn{i}.running_mean"], tensors[f"bn{i}.running_var"]
        scale = (gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPS))
        shift = beta.astype(np.float64) - mean.astype(np.float64) * scale
        if f"fc{i}.bias" in tensors:  # not written by the trainer today; folded if present
            shift = shift + tensors[f"fc{i}.bias"].astype(np.float64) * scale
        wf = (w.astype(np.float64) * scale[:, None]).T  # [in, out] for MatMul
        layers.append((np.ascontiguousarray(wf, dtype=np.float32), shift.astype(np.float32)))
    return layers


def reference_forward(layers, x, activation):
    """numpy float forward of the folded network, to check the ONNX graph."""
    h = x.astype(np.float32)
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0) if activation == "relu" else np.clip(h, -1.0, 1.0)
    return h


def build_onnx(layers, in_features, activation):
    nodes, inits = [], []
    cur = "input"
    if activation != "relu":
        inits += [numpy_helper.from_array(np.array(-1.0, np.float32), "clip_min"),
                  numpy_helper.from_array(np.array(1.0, np.float32), "clip_max")]
    for i, (w, b) in enumerate(layers):
        inits += [numpy_helper.from_array(w, f"fc{i}_w"), numpy_helper.from_array(b, f"fc{i}_b")]
        nodes.append(helper.make_node("MatMul", [cur, f"fc{i}_w"], [f"mm{i}"], name=f"MatMul_{i}"))
        out = "logits" if i == len(layers) - 1 else f"pre{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"fc{i}_b"], [out], name=f"Add_{i}"))
        if i < len(layers) - 1:
            if activation == "relu":
                nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"Relu_{i}"))
            else:
                nodes.append(helper.make_node("Clip", [out, "clip_min", "clip_max"], [f"h{i}"], name=f"Clip_{i}"))
            cur = f"h{i}"
    classes = layers[-1][0].shape[1]
    graph = helper.make_graph(
        nodes, "bitshield_fcn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", in_features])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="bitshield-peer-onnx")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


class ImageReader(CalibrationDataReader):
    def __init__(self, x, batch=100):
        self.batches = [x[i:i + batch] for i in range(0, x.shape[0], batch)]
        self.it = iter(self.batches)

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {"input": b}

    def rewind(self):
        self.it = iter(self.batches)


# ---- measuring ----------------------------------------------------------------------

def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def predict(sess, x, batch=THROUGHPUT_BATCH):
    return np.concatenate([sess.run(None, {"input": x[i:i + batch]})[0] for i in range(0, x.shape[0], batch)])


def latency_us(sess, x, warmup=200):
    singles = [x[i:i + 1] for i in range(x.shape[0])]
    for i in range(min(warmup, len(singles))):
        sess.run(None, {"input": singles[i]})
    times = []
    clock = time.perf_counter_ns
    for s in singles:
        t0 = clock()
        sess.run(None, {"input": s})
        times.append(clock() - t0)
    return statistics.median(times) / 1000.0


def images_per_second(sess, x, passes=THROUGHPUT_PASSES):
    batches = [np.ascontiguousarray(x[i:i + THROUGHPUT_BATCH]) for i in range(0, x.shape[0], THROUGHPUT_BATCH)]
    for b in batches[:4]:
        sess.run(None, {"input": b})
    rates = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for b in batches:
            sess.run(None, {"input": b})
        rates.append(x.shape[0] / (time.perf_counter() - t0))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="float FCN checkpoint (.safetensors) from the trainer")
    ap.add_argument("--data-dir", default=None,
                    help="folder with the MNIST IDX .gz files (or its parent with mnist/); "
                         "default $BITSHIELD_DATA or ${XDG_CACHE_HOME:-~/.cache}/bitshield/data")
    ap.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N test images")
    ap.add_argument("--work-dir", default=None, help="where to write the .onnx files (default: a temp dir)")
    ap.add_argument("--runs", type=int, default=5, metavar="R",
                    help="measurements of each int8 model, alternating (medians and spread; default 5)")
    args = ap.parse_args()
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    tensors, meta = read_safetensors(args.checkpoint)
    if "model" not in meta:
        sys.exit(f"{args.checkpoint}: no __metadata__.model (not a BitShield trainer checkpoint?)")
    model = json.loads(meta["model"])
    arch = model.get("architecture", "fcn")
    if arch != "fcn" or model.get("precision") != "float":
        sys.exit(f"{args.checkpoint}: only float FCN checkpoints are supported "
                 f"(got architecture {arch!r}, precision {model.get('precision')!r})")
    activation = model.get("activation", "hardtanh")
    if activation not in ("hardtanh", "relu"):
        sys.exit(f"unsupported activation {activation!r}")
    bits = int(model["input_bits"])
    shape = model["input"]
    in_features = int(shape["height"]) * int(shape["width"]) * int(shape["channels"])
    layers = folded_layers(tensors, model)
    if layers[0][0].shape[0] != in_features:
        sys.exit(f"fc0 takes {layers[0][0].shape[0]} inputs, model input is {in_features}")

    folder = mnist_dir(args.data_dir)
    tr = read_idx_gz(os.path.join(folder, "train-images-idx3-ubyte.gz"))[:CALIBRATION_IMAGES]
    te = read_idx_gz(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))
    te_lab = read_idx_gz(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if args.limit is not None:
        te, te_lab = te[:args.limit], te_lab[:args.limit]
    x_cal = np.ascontiguousarray(discretize(tr.reshape(tr.shape[0], -1), bits))
    x_test = np.ascontiguousarray(discretize(te.reshape(te.shape[0], -1), bits))
    if x_test.shape[1] != in_features:
        sys.exit(f"images have {x_test.shape[1]} pixels, model input is {in_features}")

    tmp = None
    if args.work_dir:
        work = args.work_dir
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="peer-onnx-")
        work = tmp.name
    stem = os.path.splitext(os.path.basename(args.checkpoint))[0]
    float_path = os.path.join(work, f"{stem}.float.onnx")
    onnx.save(build_onnx(layers, in_features, activation), float_path)
    root_log = logging.getLogger()
    level = root_log.level
    root_log.setLevel(logging.ERROR)  # quiet the quantizer's "consider pre-processing" warnings
    configs = []
    try:
        for name, per_channel in WEIGHT_GRANULARITIES:
            path = os.path.join(work, f"{stem}.int8-{name}.onnx")
            quantize_static(float_path, path, ImageReader(x_cal), quant_format=QUANT_FORMAT,
                            per_channel=per_channel, reduce_range=False, activation_type=ACTIVATION_TYPE,
                            weight_type=WEIGHT_TYPE, calibrate_method=CalibrationMethod.MinMax)
            configs.append({"weights": name, "path": path, "latencies": [], "rates": []})
    finally:
        root_log.setLevel(level)

    fsess = session(float_path)
    f_logits = predict(fsess, x_test)
    ref = reference_forward(layers, x_test[:1000], activation)
    max_diff = float(np.max(np.abs(ref - f_logits[:1000])))
    float_acc = float(np.mean(f_logits.argmax(1) == te_lab))
    for c in configs:
        c["session"] = session(c["path"])
        q_logits = predict(c["session"], x_test)
        c["accuracy"] = float(np.mean(q_logits.argmax(1) == te_lab))
        c["agreement"] = float(np.mean(f_logits.argmax(1) == q_logits.argmax(1)))
        c["bytes"] = os.path.getsize(c["path"])
    for _ in range(args.runs):          # alternate, so the machine's noise falls on both
        for c in configs:
            c["latencies"].append(latency_us(c["session"], x_test))
            c["rates"].append(images_per_second(c["session"], x_test))
    for c in configs:
        c["latency_us"] = statistics.median(c["latencies"])
        c["images_per_second"] = statistics.median(c["rates"])
    best = max(configs, key=lambda c: c["images_per_second"])
    f_bytes = os.path.getsize(float_path)
    ckpt_acc = None
    try:
        ckpt_acc = json.loads(meta.get("progress", "{}")).get("test_accuracy")
    except ValueError:
        pass
    def describe(c):
        return (f"static {'QDQ' if QUANT_FORMAT == QuantFormat.QDQ else 'QOperator'}, "
                f"{'U8' if ACTIVATION_TYPE == QuantType.QUInt8 else 'S8'} activations, "
                f"S8 {c['weights']} weights, MinMax calibration on {x_cal.shape[0]} MNIST train images")

    widths = [in_features] + list(model["hidden"]) + [int(model["classes"])]
    print(f"model: fcn {'-'.join(map(str, widths))} float, input_bits {bits}, {activation}; "
          f"checkpoint test accuracy {ckpt_acc}")
    print(f"onnxruntime {ort.__version__} (onnx {onnx.__version__}), 1 thread, {args.runs} runs of each int8 model, alternating")
    print(f"float ONNX vs numpy reference: max |diff| {max_diff:.2e} on {min(1000, x_test.shape[0])} images; "
          f"float accuracy {float_acc:.4f} on {x_test.shape[0]} test images")
    for c in configs:
        print(f"int8 {c['weights']:<11}: accuracy {c['accuracy']:.4f} (argmax agreement with float {c['agreement']:.4f}); "
              f"batch 1 median {c['latency_us']:.1f} us ({min(c['latencies']):.1f}..{max(c['latencies']):.1f}); "
              f"batch {THROUGHPUT_BATCH} median {c['images_per_second']:.0f} images/s "
              f"({min(c['rates']):.0f}..{max(c['rates']):.0f}); {c['bytes']} bytes"
              + ("  <- faster, the peer's figure" if c is best else ""))
    print(f"model bytes: float {f_bytes}" + (f" (in {work})" if args.work_dir else ""))
    result = {
        "framework": "onnxruntime",
        "version": ort.__version__,
        "quantization": describe(best),
        "weights": best["weights"],
        "latency_us": round(best["latency_us"], 2),
        "images_per_second": round(best["images_per_second"], 1),
        "latency_us_range": [round(min(best["latencies"]), 2), round(max(best["latencies"]), 2)],
        "images_per_second_range": [round(min(best["rates"]), 1), round(max(best["rates"]), 1)],
        "runs": args.runs,
        "int8_accuracy": best["accuracy"],
        "float_accuracy": float_acc,
        "int8_model_bytes": best["bytes"],
        "float_model_bytes": f_bytes,
        "configurations": [{k: c[k] for k in ("weights", "latency_us", "images_per_second", "accuracy", "bytes")}
                           for c in configs],
        "threads": 1,
        "test_images": int(x_test.shape[0]),
        "input_bits": bits,
        "activation": activation,
        "hidden": list(model["hidden"]),
    }
    if tmp is not None:
        del fsess
        for c in configs:
            del c["session"]
        tmp.cleanup()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
