#!/usr/bin/python3
"""Writes the float16 / bfloat16 fixtures: PyTorch's casts, promotion, elementwise ops, reductions,
matmul, a gradient, and safetensors files both ways.

    /usr/bin/python3 packages/test-utils/scripts/gen_half_fixtures.py      (or: pnpm fixtures)

Half values are written as their 16 bits (an int 0..65535), so every comparison can be bit-exact.

fixtures/half-casts.json      `cases`: a value (float64, or the float32 it rounds to) cast to float16 and
                              bfloat16: {value, from: "float64" | "float32" | "python", dtype, bits}.
fixtures/half-promotion.json  the cases of promotion.json (same format, read by promotion-cases.ts) for
                              every operand pair with a half operand: the result dtype and values.
fixtures/half-ops.json        `cases`: elementwise ops on half inputs (x, y: bits; out: bits, or 0/1 for
                              comparisons), reductions of a [6, 38] input, matmul, and one gradient. `via`
                              says how the reference was computed: "torch" (PyTorch 1.13's own half
                              kernel) or "float32" (1.13 has no CPU kernel for that op and dtype:
                              `op(x.float()).to(dtype)`, which is what PyTorch 2.x's CPU half kernels
                              compute, in float32 with one rounding). `exact` is false where the
                              test allows a tolerance (`tol`, in units of the result's eps; see `why`).
fixtures/half-from-torch.safetensors and half-safetensors.json
                              a safetensors file with F16, BF16 and F32 tensors written by hand here (the
                              `safetensors` package is not installed: a JSON header and raw bytes), and the
                              bits each tensor holds; `readBack` is what torch reads from
                              fixtures/half-from-tsgrad.safetensors, the file tsgrad writes (committed;
                              autograd's half-safetensors test checks it is byte for byte what tsgrad writes
                              today, and UPDATE_HALF_SAFETENSORS=1 rewrites it before this script runs).

torch 1.13 and 2.x round identically (c10's Half and BFloat16 constructors take a float, so a float64
reaches half through float32 in both). 1.13's CPU lacks most float16 kernels (exp, tanh, matmul, ...); those
references are computed in float32 and rounded, as 2.x does.
"""
import os

import torch

from fixture_io import FIXTURES, elementwise_ops, special, write_fixture
from half_safetensors import read_safetensors, write_safetensors

HALF = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def bits(t):
    """The 16-bit patterns of a half tensor, flat, as ints 0..65535."""
    return [b & 0xFFFF for b in t.detach().contiguous().view(torch.int16).reshape(-1).tolist()]


def from_bits(b, dtype):
    return torch.tensor([v - 65536 if v >= 32768 else v for v in b], dtype=torch.int16).view(HALF[dtype])


# ---- casts ------------------------------------------------------------------------------------------

E = 2.0**-11  # half of float16's eps: the halfway point above 1
CAST_VALUES = [
    0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -1.0, 0.1, 1 / 3, -2.5,
    65504.0, 65519.0, 65519.99, 65520.0, -65520.0, 1e6, 3.3895313892515355e38, 3.4e38, 1e39,
    2.0**-14, 2.0**-14 * (1 - 2.0**-10), 2.0**-24, 2.0**-25, 2.0**-25 * 1.0000001, 3 * 2.0**-26, 2.0**-26,
    1e-8, 6e-8, 1e-40, 9.2e-41, 1.17549435e-38, 1e-45,
    1 + E, 1 + 3 * E, 1 + E + 2.0**-40, 1 + E - 2.0**-40, 1 + E * (1 + 2.0**-30),
    1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-8 + 2.0**-30, 1 + 2.0**-8 + 2.0**-60, 2049.0, 2051.0, 257.0, 259.0,
    -(1 + 2.0**-8), 1024 + 0.5, 1023.5, 0.0001, -0.00006103515625,
]


def cast_cases():
    for v in CAST_VALUES:
        for name, dtype in HALF.items():
            yield {"value": special(v), "from": "python", "dtype": name, "bits": bits(torch.tensor([v], dtype=dtype))[0]}
            yield {"value": special(v), "from": "float64", "dtype": name, "bits": bits(torch.tensor([v], dtype=torch.float64).to(dtype))[0]}
            f = torch.tensor([v], dtype=torch.float32)
            yield {"value": special(f.item()), "from": "float32", "dtype": name, "bits": bits(f.to(dtype))[0]}


# ---- promotion --------------------------------------------------------------------------------------

TORCH_DTYPE = {"bool": torch.bool, "int32": torch.int32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
OUR_DTYPE = {torch.bool: "bool", torch.int32: "int32", torch.int64: "int32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32", torch.float64: "float64"}
FIRST = {"bool": [True, False, True, False], "int32": [-2, 0, 1, 3], "float16": [-1.5, 0.0, 0.5, 2.0], "bfloat16": [-1.25, 0.0, 0.75, 3.0], "float32": [-1.5, 0.0, 0.5, 2.0], "float64": [-1.25, 0.0, 0.75, 3.0]}
SECOND = {"bool": [True, True, False, False], "int32": [1, 2, 0, 3], "float16": [2.0, -0.5, 0.0, 1.5], "bfloat16": [0.25, -2.0, 0.0, 1.0], "float32": [2.0, -0.5, 0.0, 1.5], "float64": [0.25, -2.0, 0.0, 1.0]}
FIRST_0D = {"bool": True, "int32": 3, "float16": -1.5, "bfloat16": 0.75, "float32": -1.5, "float64": 0.75}
SECOND_0D = {"bool": False, "int32": 2, "float16": 0.5, "bfloat16": -2.0, "float32": 0.5, "float64": -2.0}
SCALARS = [True, 2, -1, 2.5]
OPS = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum, "minimum": torch.minimum, "eq": torch.eq, "lt": torch.lt}


def operands(values, values_0d):
    out = []
    for dtype, td in TORCH_DTYPE.items():
        out.append(({"dtype": dtype, "shape": [4], "data": values[dtype]}, torch.tensor(values[dtype], dtype=td)))
        out.append(({"dtype": dtype, "shape": [], "data": [values_0d[dtype]]}, torch.tensor(values_0d[dtype], dtype=td)))
    return out


def outcome(fn):
    try:
        r = fn()
    except RuntimeError as e:
        return {"error": str(e).split("\n")[0]}
    return {"dtype": OUR_DTYPE[r.dtype], "shape": list(r.shape), "values": [special(v, {"nan": "nan", "inf": "inf", "-inf": "-inf"}) for v in r.reshape(-1).tolist()]}


def is_half(e):
    return e.get("dtype") in HALF


def promotion_cases():
    scalars = [({"scalar": s}, s) for s in SCALARS]
    for op, fn in OPS.items():
        for ea, a in operands(FIRST, FIRST_0D):
            for eb, b in operands(SECOND, SECOND_0D) + scalars:
                if not (is_half(ea) or is_half(eb)):
                    continue
                if op in ("maximum", "minimum") and not isinstance(b, torch.Tensor):
                    b = torch.tensor(b, dtype=torch.result_type(a, b))
                yield {"op": op, "a": ea, "b": eb, **outcome(lambda: fn(a, b))}
    cond = [True, False, False, True]
    for ea, a in operands(FIRST, FIRST_0D):
        for eb, b in operands(SECOND, SECOND_0D) + scalars:
            if is_half(ea) or is_half(eb):
                yield {"op": "where", "cond": cond, "a": ea, "b": eb, **outcome(lambda: torch.where(torch.tensor(cond), a, b))}
    for op in ["add_", "mul_"]:
        for ea, a in operands(FIRST, FIRST_0D)[::2]:
            for eb, b in operands(SECOND, SECOND_0D) + scalars:
                if is_half(ea) or is_half(eb):
                    yield {"op": op, "a": ea, "b": eb, **outcome(lambda: getattr(a.clone(), op)(b))}


# ---- ops --------------------------------------------------------------------------------------------

SPECIALS = {
    "float16": [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 60000.0, -65504.0, 1e-5, -3e-7, 6e-8, 0.5, 1.0, 2.0, -1.0],
    "bfloat16": [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e30, -3e38, 1e-5, -3e-39, 1e-40, 0.5, 1.0, 2.0, -1.0],
}


def inputs(dtype, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.randn(34, generator=g, dtype=torch.float64) * 3, torch.tensor(SPECIALS[dtype], dtype=torch.float64)])
    return x.to(HALF[dtype])


def with_reference(fn, *xs):
    """PyTorch's own half result, or (no CPU half kernel in 1.13) the float32 result rounded once."""
    try:
        return fn(*xs), "torch"
    except RuntimeError:
        r = fn(*[x.float() for x in xs])
        return (r if r.dtype == torch.bool else r.to(xs[0].dtype)), "float32"


def float32_reference(fn, *xs):
    """PyTorch 2.x's CPU half semantics: the op in float32 on the widened inputs, one rounding. Also says
    whether 1.13's own half kernel agrees bit for bit ("torch"), differs ("float32": 1.13's bfloat16
    silu, gelu, log1p, elu, matmul round intermediates or accumulate in bfloat16; 2.x does not), or is
    missing ("float32" too), and the float32 result before rounding (`out32`)."""
    wide = fn(*[x.float() for x in xs])
    ref = wide if wide.dtype == torch.bool else wide.to(xs[0].dtype)
    try:
        native = fn(*xs)
        if ref.dtype == torch.bool:
            same = torch.equal(native, ref)
        else:
            same = bool(((native.view(torch.int16) == ref.view(torch.int16)) | (native.isnan() & ref.isnan())).all())
    except RuntimeError:
        same = False
    return ref, ("torch" if same else "float32"), wide


def out_values(r):
    return [int(v) for v in r.reshape(-1).tolist()] if r.dtype in (torch.bool, torch.int64) else bits(r)


def op_cases():
    for dtype in HALF:
        x, y = inputs(dtype, 1), inputs(dtype, 2)
        for op in elementwise_ops():
            a = x.abs() if op["domain"][0] == "positive" else x
            args = [a] if op["arity"] == 1 else [a, y.abs() if op["domain"][1] == "positive" else y]
            r, via, wide = float32_reference(op["fn"], *args)
            out32 = {"out32": [special(v) for v in wide.tolist()]} if wide.dtype != torch.bool else {}
            yield {"kind": "elementwise", "op": op["name"], "dtype": dtype, "via": via, "x": bits(args[0]), **({"y": bits(args[1])} if len(args) > 1 else {}), "out": out_values(r), **out32}
        # Rows of one pattern at growing scales, then a block of ordinary values: a [6, 38] input.
        base = inputs(dtype, 3)[:30].double()
        rows = base.reshape(1, 30) * torch.arange(1, 7, dtype=torch.float64).reshape(6, 1)
        block = inputs(dtype, 4)[:48].double().reshape(6, 8).clamp(-1e4, 1e4).nan_to_num(0.0)
        m = torch.cat([rows, block], 1).to(HALF[dtype])
        for name, dim, fn in [
            ("sum", None, lambda t: t.sum()), ("sum", 1, lambda t: t.sum(1)), ("sum", 0, lambda t: t.sum(0)),
            ("mean", 1, lambda t: t.mean(1)), ("max", 1, lambda t: t.amax(1)), ("min", 0, lambda t: t.amin(0)),
            ("argmax", 1, lambda t: t.argmax(1)), ("argmin", 0, lambda t: t.argmin(0)),
        ]:
            finite = m.double().nan_to_num(0.0, 0.0, 0.0).to(m.dtype) if name in ("sum", "mean") else m
            # mean: PyTorch 2.x's CPU mean_out sums in float32, divides in float32 and rounds once ("cast_fp32
            # -> sum -> div -> cast"); 1.13 rounds the sum to half first (here it agrees: "via" says so).
            r, via = float32_reference(fn, finite)[:2] if name == "mean" else with_reference(fn, finite)
            yield {"kind": "reduce", "op": name, "dim": dim, "dtype": dtype, "via": via, "shape": list(finite.shape), "x": bits(finite), "out": out_values(r)}
        # Composite reductions: PyTorch's fused CPU kernels compute them in float32 and round once (bfloat16's
        # in 1.13 already; float16's in 2.x). tsgrad composes float32 ops there, so a result a float32 ulp
        # away from PyTorch's may round to the neighbouring half value.
        soft = m.double().clamp(-30, 30).nan_to_num(0.0).to(m.dtype)
        for name, dim, fn in [
            ("var", 1, lambda t: t.var(1)), ("std", 0, lambda t: t.std(0)), ("logsumexp", 1, lambda t: t.logsumexp(1)),
            ("softmax", 1, lambda t: t.softmax(1)), ("logSoftmax", 1, lambda t: t.log_softmax(1)),
        ]:
            r, via, _ = float32_reference(fn, soft)
            yield {"kind": "reduce", "op": name, "dim": dim, "dtype": dtype, "via": via, "shape": list(soft.shape), "x": bits(soft), "out": out_values(r), "exact": False, "tol": 1, "why": "composed of float32 ops where PyTorch runs one fused float32 kernel"}
        g = torch.Generator().manual_seed(5)
        a = torch.randn(5, 33, generator=g).to(HALF[dtype])
        b = torch.randn(33, 7, generator=g).to(HALF[dtype])
        r, via, _ = float32_reference(torch.matmul, a, b)
        # Summation order differs between float32 kernels, so an element may land one rounding away.
        yield {"kind": "matmul", "dtype": dtype, "via": via, "a": bits(a), "aShape": [5, 33], "b": bits(b), "bShape": [33, 7], "out": bits(r), "exact": False, "tol": 1, "why": "float32 sums in another order round to a neighbouring half value"}
        w = inputs(dtype, 6)[:34]
        xg = inputs(dtype, 7)[:34].clone().requires_grad_(True)
        (xg * w + xg * xg).sum().backward()
        yield {"kind": "grad", "dtype": dtype, "via": "torch", "x": bits(xg), "w": bits(w), "out": bits(xg.grad), "exact": False, "tol": 1, "why": "x.grad = w + x + x accumulated in another order"}


# ---- safetensors ------------------------------------------------------------------------------------

def torch_file_tensors():
    g = torch.Generator().manual_seed(11)
    return {
        "w16": ("F16", (torch.randn(3, 5, generator=g) * 100).to(torch.float16)),
        "wbf": ("BF16", (torch.randn(2, 4, generator=g) * 1e20).to(torch.bfloat16)),
        "special16": ("F16", torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 65504.0, 6e-8], dtype=torch.float16)),
        "bias": ("F32", torch.randn(4, generator=g)),
    }


def encode_tensor(dtype, t):
    return {"dtype": dtype, "shape": list(t.shape), **({"bits": bits(t)} if dtype != "F32" else {"data": [special(v) for v in t.reshape(-1).tolist()]})}


def safetensors_body():
    tensors = torch_file_tensors()
    write_safetensors(os.path.join(FIXTURES, "half-from-torch.safetensors"), tensors)
    body = {"fromTorch": {k: encode_tensor(d, t) for k, (d, t) in tensors.items()}}
    ours = os.path.join(FIXTURES, "half-from-tsgrad.safetensors")
    if os.path.exists(ours):
        # What torch reads: dtype, shape, bits, and the widened values as torch prints them.
        body["readBack"] = {k: {**encode_tensor(d, t), "values": [special(v) for v in t.float().reshape(-1).tolist()]} for k, (d, t) in read_safetensors(ours).items()}
    return body


def main():
    print("wrote", write_fixture("half-casts.json", __file__, {"cases": list(cast_cases())}))
    print("wrote", write_fixture("half-promotion.json", __file__, {"cases": list(promotion_cases())}))
    print("wrote", write_fixture("half-ops.json", __file__, {"cases": list(op_cases())}))
    print("wrote", write_fixture("half-safetensors.json", __file__, safetensors_body()))


if __name__ == "__main__":
    main()
