#!/usr/bin/env python3
"""PyTorch CPU on the same cases as `pnpm bench` (reported beside tsgrad when /usr/bin/python3 has
torch; never required). Prints one JSON list of rows: {suite, case, impl, value, unit}."""
import json
import os
import sys
import time

import torch
from torch import nn

SIZES = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [256, 512, 1024]
MLP_FLOP = 2 * 128 * (3 * (784 * 256 + 256 * 256 + 256 * 10) - 784 * 256)


def median_seconds(fn, runs=5, warmup=1, min_seconds=0.2):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50:
            break
    times.sort()
    return times[len(times) // 2]


def blas():
    """Which BLAS Debian's torch (BLAS_INFO=generic) calls: whatever libblas.so.3 resolves to."""
    try:
        target = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    except OSError:
        return "BLAS unknown"
    return "OpenBLAS" if "openblas" in target else "BLIS" if "blis" in target else "reference BLAS" if "/blas/" in target else os.path.basename(target)


def cases(threads):
    torch.set_num_threads(threads)
    impl = f"PyTorch {torch.__version__.split('+')[0]} {blas()} {threads} thread{'s' if threads > 1 else ''}"
    rows = []
    torch.manual_seed(0)
    for n in SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        for label, fn in (("A·B", lambda: a @ b), ("Aᵀ·B", lambda: a.t() @ b), ("A·Bᵀ", lambda: a @ b.t())):
            rows.append({"suite": "matmul f32", "case": f"{n}x{n} {label}", "impl": impl, "value": 2 * n**3 / median_seconds(fn) / 1e9, "unit": "GFLOP/s"})

    def train_step(model, opt, x, y):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.SGD(mlp.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    s = median_seconds(lambda: train_step(mlp, opt, x, y), runs=20, warmup=5)
    rows.append({"suite": "mlp step", "case": "784-256-256-10 b128", "impl": impl, "value": MLP_FLOP / s / 1e9, "unit": "GFLOP/s"})

    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10),
    )
    opt = torch.optim.SGD(cnn.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    s = median_seconds(lambda: train_step(cnn, opt, x, y), runs=10, warmup=3)
    rows.append({"suite": "cnn step", "case": "BN-CNN b64 1x28x28", "impl": impl, "value": 64 / s, "unit": "images/s"})

    params = [torch.randn(100_000, requires_grad=True) for _ in range(100)]
    for p in params:
        p.grad = torch.randn(100_000) * 0.01
    adam = torch.optim.Adam(params, lr=1e-3)
    adam.step()
    s = median_seconds(adam.step, runs=5)
    rows.append({"suite": "optimizer", "case": "Adam 10M f32", "impl": impl, "value": 10 / s, "unit": "Mparam/s"})
    return rows


print(json.dumps([row for threads in (1, 2) for row in cases(threads)]))
