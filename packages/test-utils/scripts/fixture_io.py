"""Helpers every gen_*.py fixture script shares: option names, tensor and float encoding, the writer.

The writer lays a fixture out one case per line, so a regeneration is a readable diff:

    {
    "generator":"packages/test-utils/scripts/gen_x.py",
    "torch":"1.13.0",
    "cases":[
    {...one case...},
    {...one case...}
    ]
    }

The top-level object has one key per line; a top-level value that is a collection of cases (a
non-empty list or object whose every element is itself a list or object) has one element per line.
Everything else stays on its key's line. Tests parse the files as JSON, so the layout is free.
"""
import json
import math
import os

import torch

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")

DTYPE_NAMES = {torch.float64: "float64", torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.int64: "int32", torch.int32: "int32", torch.bool: "bool"}

# How a non-finite float is spelled in JSON (which has no NaN or Infinity): as JavaScript's String(x)
# writes it by default; a fixture whose reader expects Python's repr ("nan", "inf") passes PY_NAMES.
JS_NAMES = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
PY_NAMES = {"nan": "nan", "inf": "inf", "-inf": "-inf"}


def snake(k):
    """tsgrad's camelCase option name as PyTorch's snake_case keyword (weightDecay -> weight_decay)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in k)


def elementwise_ops():
    """The declared elementwise ops, as @tsgrad/tensor's table declares them (fixtures/elementwise-ops.json,
    written from it by `pnpm fixtures`): each a dict with `name`, `arity`, `domain` (per operand: "real"
    or "positive"), `params`, `differentiable`, and `fn(*tensors)`, PyTorch's function with the op's
    keyword arguments and its default parameters (camelCase names as PyTorch's snake_case)."""
    with open(os.path.join(FIXTURES, "elementwise-ops.json")) as f:
        ops = json.load(f)["ops"]
    for op in ops:
        fn = torch
        for part in op["torch"].split(".")[1:]:
            fn = getattr(fn, part)
        kwargs = {**op["torchArgs"], **{snake(k): v for k, v in op["params"].items()}}
        op["fn"] = (lambda f, kw: lambda *xs: f(*xs, **kw))(fn, kwargs)
    return ops


def enc(t):
    """A tensor as {shape, dtype, data}: data flat and row-major; int64 is written as tsgrad's int32."""
    t = t.detach()
    return {"shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "data": t.reshape(-1).tolist()}


def special(v, names=JS_NAMES):
    """A non-finite float as a string JSON can hold; any other value as it is."""
    if isinstance(v, float) and not math.isfinite(v):
        return names[repr(v)]
    return v


def _dumps(v):
    # allow_nan=False: a stray NaN would be written as the bare token NaN, which JSON.parse rejects.
    return json.dumps(v, separators=(",", ":"), allow_nan=False)


def _is_collection(v):
    elements = v.values() if isinstance(v, dict) else v
    return isinstance(v, (list, dict)) and len(v) > 0 and all(isinstance(e, (list, dict)) for e in elements)


def _value(v):
    if not _is_collection(v):
        return _dumps(v)
    if isinstance(v, dict):
        return "{\n" + ",\n".join(_dumps(k) + ":" + _dumps(e) for k, e in v.items()) + "\n}"
    return "[\n" + ",\n".join(_dumps(e) for e in v) + "\n]"


def write_fixture(name, script, body):
    """Writes fixtures/<name>: {generator, torch, **body}, one case per line. `script` is the caller's __file__."""
    out = {"generator": "packages/test-utils/scripts/" + os.path.basename(script), "torch": torch.__version__, **body}
    path = os.path.join(FIXTURES, name)
    os.makedirs(FIXTURES, exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(_dumps(k) + ":" + _value(v) for k, v in out.items()) + "\n}\n")
    return os.path.normpath(path)
