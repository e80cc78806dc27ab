#!/usr/bin/env python3
"""JAX peer of BitShield's fully connected trainer, for same-run benchmarks.

Same network and training as bench/peer_torch_fcn.py's fcn arch (784-600x4-10 by default) on
MNIST / Fashion-MNIST, CPU only: per hidden block Linear (no bias, weight (out, in), PyTorch's
default U(+-1/sqrt(fan_in)) init) -> BatchNorm (batch statistics with the biased variance in
training; running statistics with momentum 0.1 and PyTorch's unbiased running variance; eps 1e-5)
-> Hardtanh -> Dropout(p); the last Linear -> BatchNorm gives the logits; mean cross-entropy;
Adam (b1 0.9, b2 0.999, eps 1e-8, optax if installed, else hand-written) with a cosine schedule
to 0 over all steps; batch 100; a new shuffle every epoch; one jit-compiled train step.

Precision: float is the benchmarked mode. --precision binary is a best-effort extra mirroring the
torch peer (sign(0) = +1 weights and activations, straight-through estimators, latent weights
clamped to [-1, 1] after every step, first layer sees the discretized input, lr 0.005).

CPU and threads: JAX_PLATFORMS=cpu is forced (unless already set). XLA's CPU thread pool is
left at its default (one thread per core, i.e. 2 on the 2-core benchmark machine); XLA has no
flag for "exactly N threads" other than 1. --threads 1 sets
XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1.

Timing: compile_seconds times one warm-up train step on the initial state (result thrown away;
JAX arrays are immutable, so the real state is untouched), plus the short last batch's shape
when the training set is not a multiple of --batch. epoch_seconds then times each epoch's
training steps only (dispatch + block_until_ready at the end), without evaluation.

Prints one line per epoch, then ONE JSON line (the last line on stdout).
"""
import argparse
import gzip
import json
import math
import os
import statistics
import struct
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(
        description="JAX peer of BitShield's FCN trainer (float precision is the benchmarked mode; "
                    "--precision binary is a best-effort extra). CPU only.",
        epilog="XLA's CPU thread pool is left at its default (one thread per core); see the module "
               "docstring.")
    ap.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    ap.add_argument("--data-dir", default=None, help="folder holding mnist/ and fashion-mnist/")
    ap.add_argument("--precision", choices=["float", "binary"], default="float")
    ap.add_argument("--input-bits", type=int, default=8, choices=range(1, 9), metavar="1..8")
    ap.add_argument("--hidden", type=int, default=600)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=None, help="default 0.001 float, 0.005 binary")
    ap.add_argument("--schedule", choices=["cosine", "none"], default="cosine")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=None, metavar="N",
                    help="use only the first N training images (quick checks)")
    ap.add_argument("--threads", type=int, choices=[0, 1], default=0,
                    help="0: XLA default (one per core); 1: single-threaded XLA CPU")
    ap.add_argument("--no-optax", action="store_true", help="use the hand-written Adam")
    args = ap.parse_args()
    if args.lr is None:
        args.lr = 0.005 if args.precision == "binary" else 0.001
    if args.train_limit is not None and args.train_limit < 1:
        ap.error("--train-limit must be >= 1")
    if not 0.0 <= args.dropout < 1.0:
        ap.error("--dropout must be in [0, 1)")
    return args


ARGS = parse_args()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
if ARGS.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

try:
    import optax  # noqa: E402
except ImportError:
    optax = None

from bitshield_data import data_root, discretize, load_split  # noqa: E402  (bench/bitshield_data.py)


# ---- data (same as bench/peer_torch_fcn.py) ---------------------------------------





# ---- binarization (sign(0) = +1) -------------------------------------------------

def sign_pm1(x):
    return jnp.where(x >= 0, 1.0, -1.0).astype(x.dtype)


@jax.custom_vjp
def sign_weight_ste(w):
    return sign_pm1(w)


sign_weight_ste.defvjp(lambda w: (sign_pm1(w), None), lambda _, g: (g,))


@jax.custom_vjp
def sign_act_ste(x):
    return sign_pm1(x)


sign_act_ste.defvjp(lambda x: (sign_pm1(x), x),
                    lambda x, g: (g * (jnp.abs(x) <= 1).astype(g.dtype),))


# ---- model -------------------------------------------------------------------------

BN_EPS, BN_MOMENTUM = 1e-5, 0.1


def init_model(key, widths):
    params, stats = [], []
    for i in range(len(widths) - 1):
        key, sub = jax.random.split(key)
        bound = 1.0 / math.sqrt(widths[i])
        w = jax.random.uniform(sub, (widths[i + 1], widths[i]), jnp.float32, -bound, bound)
        params.append({"w": w, "gamma": jnp.ones(widths[i + 1]), "beta": jnp.zeros(widths[i + 1])})
        stats.append({"mean": jnp.zeros(widths[i + 1]), "var": jnp.ones(widths[i + 1])})
    return params, stats


def forward(params, stats, x, train, dropout_key, dropout, binary):
    """Returns (logits, new running stats)."""
    new_stats = []
    last = len(params) - 1
    for i, (p, s) in enumerate(zip(params, stats)):
        w = sign_weight_ste(p["w"]) if binary else p["w"]
        z = x @ w.T
        if train:
            mean = z.mean(0)
            var = z.var(0)  # biased, for normalizing
            n = z.shape[0]
            new_stats.append({
                "mean": (1 - BN_MOMENTUM) * s["mean"] + BN_MOMENTUM * mean,
                "var": (1 - BN_MOMENTUM) * s["var"] + BN_MOMENTUM * var * (n / max(n - 1, 1)),
            })
        else:
            mean, var = s["mean"], s["var"]
            new_stats.append(s)
        z = (z - mean) * jax.lax.rsqrt(var + BN_EPS) * p["gamma"] + p["beta"]
        if i < last:
            z = sign_act_ste(z) if binary else jnp.clip(z, -1.0, 1.0)
            if train and dropout > 0:
                dropout_key, sub = jax.random.split(dropout_key)
                keep = jax.random.bernoulli(sub, 1.0 - dropout, z.shape)
                z = jnp.where(keep, z / (1.0 - dropout), 0.0)
        x = z
    return x, new_stats


def cross_entropy(logits, labels):
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, labels[:, None], axis=1).mean()


# ---- optimizer ---------------------------------------------------------------------

def lr_at(step, lr, total_steps, schedule):
    if schedule == "none":
        return jnp.asarray(lr, jnp.float32)
    t = jnp.minimum(step, total_steps).astype(jnp.float32)
    return lr * 0.5 * (1.0 + jnp.cos(jnp.pi * t / total_steps))


def make_optimizer(args, total_steps):
    """Returns (name, init(params) -> opt_state, update(grads, opt_state, params) -> (params, state))."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    if optax is not None and not args.no_optax:
        sched = (optax.cosine_decay_schedule(args.lr, decay_steps=total_steps, alpha=0.0)
                 if args.schedule == "cosine" else args.lr)
        tx = optax.adam(sched, b1=b1, b2=b2, eps=eps)

        def update(grads, state, params):
            upd, state = tx.update(grads, state, params)
            return optax.apply_updates(params, upd), state
        return f"optax {optax.__version__} adam", tx.init, update

    def init(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return {"count": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros}

    def update(grads, state, params):
        lr = lr_at(state["count"], args.lr, total_steps, args.schedule)
        t = (state["count"] + 1).astype(jnp.float32)
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, {"count": state["count"] + 1, "m": m, "v": v}
    return "hand-written adam", init, update


# ---- main --------------------------------------------------------------------------

def main():
    args = ARGS
    binary = args.precision == "binary"
    folder = os.path.join(data_root(args.data_dir), args.dataset)
    tr_img, tr_lab = load_split(folder, "train", label_dtype=np.int32)
    if args.train_limit is not None:
        tr_img, tr_lab = tr_img[:args.train_limit], tr_lab[:args.train_limit]
    te_img, te_lab = load_split(folder, "t10k", label_dtype=np.int32)
    x_train = jnp.asarray(discretize(tr_img, args.input_bits))
    y_train = jnp.asarray(tr_lab)
    x_test = jnp.asarray(discretize(te_img, args.input_bits))
    y_test = jnp.asarray(te_lab)

    widths = [784] + [args.hidden] * args.depth + [10]
    key = jax.random.PRNGKey(args.seed)
    key, init_key, dropout_base = jax.random.split(key, 3)
    params, stats = init_model(init_key, widths)

    n = int(x_train.shape[0])
    steps_per_epoch = math.ceil(n / args.batch)
    total_steps = steps_per_epoch * args.epochs
    opt_name, opt_init, opt_update = make_optimizer(args, total_steps)
    opt_state = opt_init(params)

    def loss_fn(params, stats, x, y, dkey):
        logits, new_stats = forward(params, stats, x, True, dkey, args.dropout, binary)
        return cross_entropy(logits, y), new_stats

    @jax.jit
    def train_step(params, stats, opt_state, x_all, y_all, idx, step):
        x, y = x_all[idx], y_all[idx]
        dkey = jax.random.fold_in(dropout_base, step)
        (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y, dkey)
        params, opt_state = opt_update(grads, opt_state, params)
        if binary:
            params = [dict(p, w=jnp.clip(p["w"], -1.0, 1.0)) for p in params]
        return params, new_stats, opt_state, loss

    @jax.jit
    def predict(params, stats, x):
        logits, _ = forward(params, stats, x, False, None, 0.0, binary)
        return jnp.argmax(logits, axis=1)

    def evaluate(params, stats, batch=1000):
        correct = 0
        for i in range(0, x_test.shape[0], batch):
            pred = predict(params, stats, x_test[i:i + batch])
            correct += int((pred == y_test[i:i + batch]).sum())
        return correct / x_test.shape[0]

    # Warm-up: compile the step for every batch shape on a throwaway result.
    t0 = time.perf_counter()
    shapes = sorted({min(args.batch, n), n - (steps_per_epoch - 1) * args.batch}, reverse=True)
    for b in shapes:
        jax.block_until_ready(train_step(params, stats, opt_state, x_train, y_train,
                                         jnp.arange(b, dtype=jnp.int32), jnp.int32(0)))
    compile_seconds = time.perf_counter() - t0

    rng = np.random.RandomState(args.seed)
    epoch_seconds, accs = [], []
    step = 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = jnp.asarray(rng.permutation(n).astype(np.int32))
        loss_sum = jnp.zeros(())
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            params, stats, opt_state, loss = train_step(params, stats, opt_state, x_train, y_train,
                                                        idx, jnp.int32(step))
            loss_sum = loss_sum + loss
            step += 1
        jax.block_until_ready((params, stats, opt_state, loss_sum))
        dt = time.perf_counter() - t0
        acc = evaluate(params, stats)
        epoch_seconds.append(dt)
        accs.append(acc)
        print(f"epoch {epoch}/{args.epochs}  train_loss {float(loss_sum) / steps_per_epoch:.4f}  "
              f"test_acc {acc:.4f}  train_seconds {dt:.3f}", flush=True)

    import jaxlib
    result = {
        "framework": "jax",
        "precision": args.precision,
        "input_bits": args.input_bits,
        "epochs": args.epochs,
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "median_epoch_seconds": round(statistics.median(epoch_seconds), 4),
        "compile_seconds": round(compile_seconds, 4),
        "test_accuracy": accs[-1],
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "optimizer": opt_name,
        "device": str(jax.devices()[0]),
        "threads": "1" if args.threads == 1 else f"xla-default (cpu_count {os.cpu_count()})",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "dataset": args.dataset,
        "arch": "fcn",
        "model": "binarynet-fcn",
        "hidden": args.hidden,
        "depth": args.depth,
        "train_images": n,
        "batch": args.batch,
        "lr": args.lr,
        "dropout": args.dropout,
        "schedule": args.schedule,
        "seed": args.seed,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
