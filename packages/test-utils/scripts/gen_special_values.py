#!/usr/bin/python3
"""Writes the special-values fixture: PyTorch's float32 results on NaN, ±inf, ±0, subnormals, tiny,
ordinary and huge values through every elementwise op, every pair of values through every binary op,
and every reduction over short rows and rows longer than a WebGPU workgroup.

    /usr/bin/python3 packages/test-utils/scripts/gen_special_values.py      (or: pnpm fixtures)

fixtures/special-values.json, one case per line:
  values     the table of special values (float32)
  inputs     the reductions' inputs: `table` (the values as one row), `short` (rows of special values),
             `long` (rows of LONG_ROW elements: `longBase(k)` with one or two special values placed at
             various positions; src/special-values.ts rebuilds them by the same rule)
  cases      unary ops on `values`, and its casts to bool and int32; binary ops on every pair (a = values[i], b = values[j], output
             [n, n] row-major); reductions of an input along `dim` (null: every dim), of its transpose
             when `t`.
Each case holds `out` (PyTorch's float32 result; for floating unary ops its float64 result rounded to float32,
with `torch32` ({flat index: value}) where PyTorch's float32 kernel gives another answer), `ftz` where a device that flushes subnormals to zero
(inputs and outputs) gets a different answer ({flat index: value}), and for reductions that add up
their inputs `scale` (per output: the largest finite |input| of its slice, divided by n for mean),
the size of rounding error a float32 sum may make.

JSON has no NaN or infinities: they are written as the strings "NaN", "Infinity", "-Infinity". Finite
values are written in float32's shortest round-trip form. The tests read the committed JSON.
"""
import math

import numpy as np
import torch

from fixture_io import elementwise_ops, special, write_fixture

NAN, INF = float("nan"), float("inf")
F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)  # smallest normal
SUBNORMAL = float(np.float32(1.4e-45))  # smallest subnormal

VALUES = [
    NAN, INF, -INF, 0.0, -0.0, SUBNORMAL, -SUBNORMAL, F32_TINY, -F32_TINY, 1e-30, 1e-8, -1e-8, 1e-4, -1e-4,
    0.5, -0.5, 1.0, -1.0, 2.0, -3.0, 2.5, -2.5, 30.0, -30.0, 100.0, -100.0, 1e30, F32_MAX, -F32_MAX,
]

# Every declared elementwise op (fixtures/elementwise-ops.json, written from @tsgrad/tensor's table).
UNARY = {op["name"]: op["fn"] for op in elementwise_ops() if op["arity"] == 1}
FLOATING_UNARY = {op["name"]: op["dtypes"] == "float" for op in elementwise_ops() if op["arity"] == 1}
BINARY = {op["name"]: op["fn"] for op in elementwise_ops() if op["arity"] == 2}

SHORT = [
    [1.0, NAN, 3.0, -2.0, 0.0],
    [-INF, -INF, -INF, -INF, -INF],
    [INF, 1.0, 2.0, 3.0, 4.0],
    [INF, -INF, 1.0, 2.0, 3.0],
    [F32_MAX, F32_MAX, 1.0, 2.0, 3.0],
    [-INF, 1.0, 2.0, -INF, 0.0],
    [1e-8, -1e-8, 1e-4, SUBNORMAL, -0.0],
    [NAN, INF, -INF, 0.0, 1.0],
    [0.0, -0.0, 0.0, -0.0, 0.0],
    [100.0, -100.0, 30.0, -30.0, 1e30],
    [2.0, 2.0, 1.0, 2.0, -1.0],
    [NAN, NAN, 1.0, 2.0, 3.0],
    [1.0, 2.0, 3.0, 4.0, NAN],
    [-F32_MAX, 1.0, -1e-4, 2.5, -3.0],
]

LONG_ROW = 3000


def long_base(k):
    """Ordinary values, multiples of 1/16 (sums of a row are exact in float32 in any order), with ties."""
    return ((k * 37) % 101 - 50) / 16


# Each long row: the base with these (position, value) overrides; None fills the whole row.
LONG = [
    [],
    [(0, NAN)],
    [(1500, NAN)],
    [(2999, NAN)],
    [(63, INF)],
    [(64, -INF)],
    [(2000, INF), (2500, NAN)],
    [(None, -INF)],
    [(100, F32_MAX), (2900, F32_MAX)],
    [(0, -INF), (2999, INF)],
]
# Softmax outputs are a row each: only these long rows (plain, NaN, +inf, -inf, all -inf) keep the file small.
LONG_SOFTMAX_ROWS = [0, 2, 4, 5, 7]


def long_input(rows):
    x = torch.tensor([long_base(k) for k in range(LONG_ROW)], dtype=torch.float64).repeat(len(rows), 1)
    for r, row in enumerate(rows):
        for at, v in row:
            if at is None:
                x[r] = v
            else:
                x[r, at] = v
    return x.to(torch.float32)


INPUTS = {
    "table": torch.tensor(VALUES, dtype=torch.float32),
    "short": torch.tensor(SHORT, dtype=torch.float32),
    "long": long_input(LONG),
    "longSoftmax": long_input([LONG[r] for r in LONG_SOFTMAX_ROWS]),
}

ALL = "all"  # a reduction over every dim


def reduce(op, x, dim):
    every = dim == ALL
    if op in ("sum", "mean"):
        return getattr(torch, op)(x) if every else getattr(torch, op)(x, dim)
    if op in ("max", "min"):
        return getattr(torch, op)(x) if every else getattr(torch, op)(x, dim).values
    if op in ("argmax", "argmin"):
        return getattr(torch, op)(x) if every else getattr(torch, op)(x, dim)
    if op == "logsumexp":
        return torch.logsumexp(x, tuple(range(x.dim())) if every else dim)
    if op == "softmax":
        return torch.softmax(x, dim)
    if op == "logSoftmax":
        return torch.log_softmax(x, dim)
    raise ValueError(op)


def scale(op, x, dim):
    """Per output: the largest finite |input| of its slice (over n for mean): a float32 sum's error scale."""
    a = torch.where(torch.isfinite(x), x.abs(), torch.zeros_like(x)).double()
    if op not in ("sum", "mean", "logsumexp", "logSoftmax"):
        return None
    if op == "logSoftmax":
        return a.amax(dim, keepdim=True).expand(x.shape)
    s = a.amax() if dim == ALL else a.amax(dim)
    return s / (x.numel() if dim == ALL else x.shape[dim]) if op == "mean" else s


# (op, input, dim, transposed): whole-tensor and along a dim, strided (transposed) views too.
REDUCTIONS = []
for op in ("sum", "mean", "max", "min", "argmax", "argmin"):
    REDUCTIONS += [(op, "table", ALL, False), (op, "table", 0, False), (op, "short", ALL, False), (op, "short", 1, False),
                   (op, "short", 0, False), (op, "short", 0, True), (op, "long", ALL, False), (op, "long", 1, False), (op, "long", 0, True)]
REDUCTIONS += [("logsumexp", "table", 0, False), ("logsumexp", "short", ALL, False), ("logsumexp", "short", 1, False),
               ("logsumexp", "short", 0, False), ("logsumexp", "short", 0, True), ("logsumexp", "long", 1, False),
               ("logsumexp", "long", 0, True)]
for op in ("softmax", "logSoftmax"):
    REDUCTIONS += [(op, "table", 0, False), (op, "short", 1, False), (op, "short", 0, False), (op, "short", 0, True),
                   (op, "longSoftmax", 1, False)]


def ftz(t):
    """Subnormals flushed to (signed) zero, as a device without subnormals stores them."""
    if not t.is_floating_point():
        return t
    return torch.where((t != 0) & (t.abs() < F32_TINY), t * 0, t)


def number(v):
    if isinstance(v, bool) or not math.isfinite(v):
        return special(v)
    if v == 0:
        return -0.0 if math.copysign(1, v) < 0 else 0
    if float(v).is_integer() and abs(v) < 2**53:
        return int(v)
    # float32's shortest decimal that rounds back to the same float32 (Math.fround(x) in JavaScript).
    return float(repr(np.float32(v)))


def encode(t):
    flat = t.reshape(-1).tolist()
    return [number(v) for v in flat]


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)) if isinstance(a, float) else a == b


def ftz_diff(out, alt):
    """{flat index: value} where the flush-to-zero result differs."""
    o, f = out.reshape(-1).tolist(), alt.reshape(-1).tolist()
    return {str(i): number(b) for i, (a, b) in enumerate(zip(o, f)) if not same(a, b)}


def case(fields, out, alt, sc=None):
    c = dict(fields)
    c["shape"] = list(out.shape)
    c["out"] = encode(out)
    diff = ftz_diff(out, alt)
    if diff:
        c["ftz"] = diff
    if sc is not None:
        c["scale"] = encode(sc.float())
    return c


def cases():
    x = torch.tensor(VALUES, dtype=torch.float32)
    out = []
    for name, fn in UNARY.items():
        # Floating ops: PyTorch's float64 result rounded to float32, the correctly rounded value its
        # float32 kernels approximate (some lose digits: GELU's 1 + erf(x) near −1, ELU's e^x − 1 near 0
        # where expm1 keeps them; log1p overflows at FLT_MAX); special values are the same in both.
        if not FLOATING_UNARY[name]:
            out.append(case({"kind": "unary", "op": name}, fn(x), ftz(fn(ftz(x)))))
            continue
        f = (lambda fn: lambda t: fn(t.double()).float())(fn)
        c = case({"kind": "unary", "op": name}, f(x), ftz(f(ftz(x))))
        # Where PyTorch's float32 kernel differs: a kernel at least as close to the true value passes.
        torch32 = ftz_diff(f(x), fn(x))
        if torch32:
            c["torch32"] = torch32
        out.append(c)
    # A cast to bool is a comparison with 0 too: NaN is true, ±0 false.
    out.append(case({"kind": "cast", "op": "bool"}, x.bool(), ftz(ftz(x).bool())))
    # To int32, PyTorch on x86 (cvttss2si): truncation toward zero, and INT32_MIN for NaN, ±inf and
    # every value out of range (C++ leaves those undefined, CUDA saturates; tsgrad follows x86).
    out.append(case({"kind": "cast", "op": "int32"}, x.to(torch.int32), ftz(ftz(x).to(torch.int32))))
    a, b = x.reshape(-1, 1), x.reshape(1, -1)
    for name, fn in BINARY.items():
        out.append(case({"kind": "binary", "op": name}, fn(a, b), ftz(fn(ftz(a), ftz(b)))))
    for op, name, dim, t in REDUCTIONS:
        inp = INPUTS[name].t() if t else INPUTS[name]
        fields = {"kind": "reduce", "op": op, "input": name, "dim": None if dim == ALL else dim, "t": t}
        out.append(case(fields, reduce(op, inp, dim), ftz(reduce(op, ftz(inp), dim)), scale(op, inp, dim)))
    return out


def main():
    head = {
        "values": encode(torch.tensor(VALUES, dtype=torch.float32)),
        "inputs": {
            "short": [encode(torch.tensor(r, dtype=torch.float32)) for r in SHORT],
            "long": {"length": LONG_ROW, "rows": [[[at, number(v)] for at, v in row] for row in LONG]},
            "longSoftmax": LONG_SOFTMAX_ROWS,
        },
    }
    all_cases = cases()
    print("wrote", write_fixture("special-values.json", __file__, dict(head, cases=all_cases)), len(all_cases), "cases")


if __name__ == "__main__":
    main()
