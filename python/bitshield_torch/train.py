"""A plain training loop for the package's networks, the trainer's recipe in PyTorch: Adam, cross-entropy,
cosine learning rate to 0 over the run, latent binary weights clipped to [-1, 1] after every step."""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .layers import clip_


def fit(model, images, labels, epochs=1, batch_size=100, lr=0.005, seed=1, log=None):
    """Trains `model` on uint8 `images` [N, ...] and `labels` [N]; returns the seconds taken. Shuffles with
    torch's generator seeded by `seed` (not the trainer's stream: a PyTorch run is not bit-identical to
    `train fit`, only the evaluation is)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x_all = torch.from_numpy(np.array(images, dtype=np.uint8)).reshape(len(images), -1)
    y_all = torch.from_numpy(np.array(labels, dtype=np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x_all) / batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    start = time.time()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), generator=g)
        total, correct = 0.0, 0
        for i in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            x = x_all[idx].to(torch.float32) / 255
            out = model(x)
            loss = F.cross_entropy(out, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            clip_(model)
            total += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y_all[idx]).sum())
        if log:
            log("epoch %d/%d loss %.4f train %.2f%% %.1f s" % (epoch + 1, epochs, total / len(x_all),
                                                              100 * correct / len(x_all), time.time() - start))
    model.eval()
    return time.time() - start
