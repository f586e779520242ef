#!/usr/bin/env python3
"""PyTorch CPU on the same cases as `pnpm bench` (reported beside tsgrad when /usr/bin/python3 has
torch; never required). Prints one JSON object: {"rows": [{suite, case, impl, value, unit}],
"notes": [...], "gptParams": n}.

  bench_torch.py [SIZES]      the CPU cases on 1 and 2 threads (SIZES: matmul sizes, "256,512,1024")
  bench_torch.py --cuda       the GPU's rows (the packed GPU benchmark's run.sh): matmuls in float32,
                              float16 and bfloat16, the GPT step, the GPT under autocast float16 + GradScaler
  bench_torch.py --gpt-steps  the GPT step on one thread, on request: reads a step count per line,
                              answers each with the median milliseconds of that many steps, the cores they
                              kept busy and the BLAS pool's thread count (blas_threads) (src/pytorch.ts
                              alternates it with tsgrad's step, so a drifting machine slows both alike)

The whole process runs with OMP_WAIT_POLICY=PASSIVE unless the environment sets it (see below)."""
import contextlib
import ctypes
import json
import os
import re
import sys
import time

# Read when torch loads libgomp, so set first, for the whole process. GNU OpenMP's idle threads spin
# for a while (GOMP_SPINCOUNT) before they sleep, and here they spin beside OpenBLAS's own pthreads:
# on 2 threads the GPT step took 237-261 ms against 58-66 ms with PASSIVE (one thread is unaffected).
# A value the environment sets wins; the notes say which was used.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch
from torch import nn

CUDA = "--cuda" in sys.argv
GPT_STEPS = "--gpt-steps" in sys.argv
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SIZES = [int(s) for s in ARGS[0].split(",")] if ARGS else [256, 512, 1024]
# The GPT of packages/bench/src/gpt.ts (GPT_CONFIG, GPT_CASE).
GPT = {"vocab": 65, "layers": 4, "heads": 4, "dim": 128, "block": 64, "batch": 16}
GPT_CASE = f"GPT {GPT['layers']}L {GPT['heads']}H {GPT['dim']}d T{GPT['block']} B{GPT['batch']}"
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


def set_threads(n):
    """torch.set_num_threads(n), and the same count for the BLAS's own thread pool. Debian's torch
    (BLAS_INFO=generic) calls libblas.so.3, by default OpenBLAS's pthreads build, whose pool
    torch.set_num_threads does not reach: without this a "1 thread" matmul ran on every core
    (measured on a 2-core VM: 1024x512x512 at 201 GFLOP/s with 2.0 cores busy, 103 GFLOP/s on one)."""
    torch.set_num_threads(n)
    lib = loaded_blas()
    if lib is None:
        return
    for name in ("openblas_set_num_threads", "bli_thread_set_num_threads"):
        if hasattr(lib, name):
            getattr(lib, name)(n)


def loaded_blas():
    """The libblas.so.3 torch loaded, or None when it loaded none (a wheel with its own BLAS, which
    torch.set_num_threads does reach): RTLD_NOLOAD returns the loaded copy's handle and never loads a
    second one, whose own threads torch would not use."""
    try:
        return ctypes.CDLL("libblas.so.3", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None


def blas_threads():
    """The BLAS pool's thread count as the BLAS reports it (OpenBLAS's or BLIS's), 0 when torch calls
    no libblas.so.3 with a pool of its own: what set_threads set, read back."""
    lib = loaded_blas()
    if lib is None:
        return 0
    for name in ("openblas_get_num_threads", "bli_thread_get_num_threads"):
        if hasattr(lib, name):
            return getattr(lib, name)()
    return 0


def cores_busy(fn, runs=3):
    """The cores fn keeps busy: this process's CPU time over the wall time of `runs` calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def blas():
    """Which BLAS Debian's torch (BLAS_INFO=generic) calls: whatever libblas.so.3 resolves to."""
    try:
        target = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    except OSError:
        return "BLAS unknown"
    return "OpenBLAS" if "openblas" in target else "BLIS" if "blis" in target else "reference BLAS" if "/blas/" in target else os.path.basename(target)


def blas_note():
    """Torch's build record says which BLAS it calls: Debian's says BLAS_INFO=generic, i.e. whatever
    libblas.so.3 resolves to, by default the reference BLAS (~5 GFLOP/s). Detected and measured, so
    nobody reads a ratio against that as one against an optimized PyTorch (MKL or OpenBLAS)."""
    info = re.search(r"BLAS_INFO=([\w-]+)", torch.__config__.show())
    info = info.group(1) if info else "unknown"
    if info != "generic":
        return None
    set_threads(1)
    a, b = torch.randn(1024, 512), torch.randn(512, 512)
    gflops = 2 * 1024 * 512 * 512 / median_seconds(lambda: a @ b) / 1e9
    lib = blas()
    slow = ": far slower than an optimized PyTorch (MKL/OpenBLAS), so its rows, and tsgrad's ratios to them, flatter tsgrad" if lib == "reference BLAS" else ""
    return (f"PyTorch {torch.__version__.split('+')[0]} is built with BLAS_INFO=generic (torch.__config__.show()) and calls libblas.so.3 = {lib}: "
            f"a 1024x512x512 float32 matmul runs at {gflops:.1f} GFLOP/s on one thread{slow}")


class GPTModel(nn.Module):
    """nanoGPT's structure from torch.nn, as src/gpt.ts builds it from tsgrad's modules: token and
    position embeddings, pre-LN TransformerEncoderLayer blocks (GELU, 4x feed-forward, no dropout)
    under a causal mask, a final LayerNorm, a bias-free head tied to the token embedding."""

    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["dim"])
        self.wpe = nn.Embedding(c["block"], c["dim"])
        layer = lambda: nn.TransformerEncoderLayer(c["dim"], c["heads"], 4 * c["dim"], dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.ModuleList([layer() for _ in range(c["layers"])])
        self.ln_f = nn.LayerNorm(c["dim"])
        self.head = nn.Linear(c["dim"], c["vocab"], bias=False)
        self.head.weight = self.wte.weight
        t = c["block"]
        self.register_buffer("pos", torch.arange(t))
        # bool attn_mask: True = masked (a future position).
        self.register_buffer("mask", torch.ones(t, t, dtype=torch.bool).triu(1))

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(self.pos)
        for b in self.blocks:
            x = b(x, src_mask=self.mask)
        return self.head(self.ln_f(x))


def gpt_step(device="cpu", amp=False):
    """One AdamW step of the GPT on random tokens, returned as a function, and the parameter count.
    amp: under torch.autocast(device, torch.float16) with a GradScaler (CUDA's mixed-precision recipe)."""
    torch.manual_seed(0)
    c = GPT
    model = GPTModel(c).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    idx = torch.randint(0, c["vocab"], (c["batch"], c["block"]), device=device)
    targets = torch.randint(0, c["vocab"], (c["batch"] * c["block"],), device=device)
    # torch >= 2.3 spells it torch.amp.GradScaler("cuda"); torch.cuda.amp.GradScaler before.
    scaler = (torch.amp.GradScaler("cuda") if hasattr(torch.amp, "GradScaler") else torch.cuda.amp.GradScaler()) if amp else None

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.float16) if amp else contextlib.nullcontext():
            loss = nn.functional.cross_entropy(model(idx).reshape(-1, c["vocab"]), targets)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        if device != "cpu":
            torch.cuda.synchronize()

    return step, opt, sum(p.numel() for p in model.parameters())


def gpt_row(impl, device="cpu"):
    """One AdamW step of the GPT on random tokens: median milliseconds, the parameter count, and on
    the CPU the cores its steps kept busy (cores_busy: a check that a thread count holds)."""
    step, _, params = gpt_step(device)
    s = median_seconds(step, runs=5, warmup=2)
    cores = cores_busy(step) if device == "cpu" else None
    return {"suite": "gpt step", "case": GPT_CASE, "impl": impl, "value": s * 1000, "unit": "ms/step"}, params, cores


def cuda_rows(impl):
    """The packed GPU benchmark's PyTorch side (src/webgpu.ts names the same cases): square matmuls
    at the GPU sizes in float32, float16 and bfloat16 (suite "matmul", GFLOP/s), the GPT step, and
    the GPT in float32 and under autocast float16 + GradScaler (suite "autocast gpt": ms/step, and
    the peak MiB torch.cuda.max_memory_allocated counts over one step above what was allocated)."""
    rows = []
    for dtype, suffix in ((torch.float32, ""), (torch.float16, " float16"), (torch.bfloat16, " bfloat16")):
        for n in (1024, 2048, 4096, 8192):
            a, b = torch.randn(n, n, device="cuda", dtype=dtype), torch.randn(n, n, device="cuda", dtype=dtype)

            def product():
                a @ b
                torch.cuda.synchronize()

            rows.append({"suite": "matmul", "case": f"{n}x{n} A·B{suffix}", "impl": impl, "value": 2 * n**3 / median_seconds(product) / 1e9, "unit": "GFLOP/s"})
            del a, b
    row, params, _ = gpt_row(impl, "cuda")
    rows.append(row)
    for amp, label in ((False, "float32"), (True, "autocast f16")):
        step, opt, _ = gpt_step("cuda", amp)
        s = median_seconds(step, runs=5, warmup=2)
        opt.zero_grad(set_to_none=True)
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        peak = torch.cuda.max_memory_allocated() - before
        rows.append({"suite": "autocast gpt", "case": f"{GPT_CASE} {label} step", "impl": impl, "value": s * 1000, "unit": "ms/step"})
        rows.append({"suite": "autocast gpt", "case": f"{GPT_CASE} {label} peak", "impl": impl, "value": peak / 2**20, "unit": "MiB"})
    return rows, params


def cases(threads, notes):
    set_threads(threads)
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
    row, _, cores = gpt_row(impl)
    rows.append(row)
    notes.append(f"{impl}: its GPT steps kept {cores:.2f} cores busy (process CPU time / wall time); the BLAS pool had {blas_threads()} threads (0: no pool), OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    return rows


if GPT_STEPS:
    set_threads(1)
    torch.manual_seed(0)
    step, _, _ = gpt_step("cpu")
    step()
    print("ready", flush=True)
    # Each answer: the median milliseconds, the cores those steps kept busy (cores_busy) and the BLAS
    # pool's thread count (blas_threads).
    for line in sys.stdin:
        cpu, wall = time.process_time(), time.perf_counter()
        ms = median_seconds(step, runs=int(line), warmup=1, min_seconds=0) * 1000
        print(ms, (time.process_time() - cpu) / (time.perf_counter() - wall), blas_threads(), flush=True)
elif CUDA:
    if not torch.cuda.is_available():
        sys.exit("bench_torch.py --cuda: torch.cuda.is_available() is False")
    rows, params = cuda_rows(f"PyTorch {torch.__version__.split('+')[0]} CUDA {torch.cuda.get_device_name(0)}")
    print(json.dumps({"rows": rows, "notes": [], "gptParams": params}))
else:
    note = blas_note()
    notes = [note] if note else []
    rows = [row for threads in (1, 2) for row in cases(threads, notes)]
    print(json.dumps({"rows": rows, "notes": notes, "gptParams": sum(p.numel() for p in GPTModel(GPT).parameters())}))
