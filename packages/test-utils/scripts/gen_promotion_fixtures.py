#!/usr/bin/python3
"""Writes fixtures/promotion.json: PyTorch's result dtype (or error) and values for every binary op
over tsgrad's dtypes and Python scalars.

    /usr/bin/python3 packages/test-utils/scripts/gen_promotion_fixtures.py    (or: pnpm fixtures)

Operands: tensors of bool, int32, float32 and float64, each 1-d (4 elements) and 0-d, and the Python
scalars True, False, 2, -1 and 2.5. Every op (add, sub, mul, div, pow, maximum, minimum, eq, ne, lt,
le, gt, ge) runs tensor-first against every operand (tsgrad's binary ops take a scalar only as the
second operand); `where` runs with every pair of operands in both branches (scalars in either); the
in-place ops (add_, sub_, mul_, div_) on every 1-d tensor; add and sub with alpha 2 and 0.5.
`torch.maximum`/`torch.minimum` take no Python scalars: a scalar operand runs as a 0-d tensor of the
dtype `torch.result_type(tensor, scalar)` gives, which is the result PyTorch's wrapped-number rule
would give.

Each case is one JSON line: {"op", "a", "b", ("cond", "alpha"), then "dtype" and "values", or
"error"}. An operand is {"dtype", "shape", "data"} or {"scalar": value}. Result dtypes are mapped to
tsgrad's: torch.int64 (a Python int promoting a bool tensor) becomes 'int32', since tsgrad has no
int64. Non-finite values are the strings "nan", "inf", "-inf" (JSON has no NaN).

PyTorch 1.13 and 2.x agree on every case here: the promotion rules (categories, 0-d tensors and
wrapped numbers, `where`'s promotion) and the bool errors of sub (`sub_check`) and pow are the same
in both.
"""
import torch

from fixture_io import PY_NAMES, special, write_fixture

torch.set_default_dtype(torch.float32)

TORCH_DTYPE = {"bool": torch.bool, "int32": torch.int32, "float32": torch.float32, "float64": torch.float64}
OUR_DTYPE = {torch.bool: "bool", torch.int32: "int32", torch.int64: "int32", torch.float32: "float32", torch.float64: "float64"}

# First and second operand values differ, so that an op with both operands of one dtype still has
# all four bool combinations (or, and) and no int32 exponent is negative (tsgrad refuses negative
# int32 exponent tensors; PyTorch returns 0).
FIRST = {"bool": [True, False, True, False], "int32": [-2, 0, 1, 3], "float32": [-1.5, 0.0, 0.5, 2.0], "float64": [-1.25, 0.0, 0.75, 3.0]}
SECOND = {"bool": [True, True, False, False], "int32": [1, 2, 0, 3], "float32": [2.0, -0.5, 0.0, 1.5], "float64": [0.25, -2.0, 0.0, 1.0]}
FIRST_0D = {"bool": True, "int32": 3, "float32": -1.5, "float64": 0.75}
SECOND_0D = {"bool": False, "int32": 2, "float32": 0.5, "float64": -2.0}
SCALARS = [True, False, 2, -1, 2.5]

OPS = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum,
    "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
}
TAKES_NO_SCALAR = {"maximum", "minimum"}


def operands(values, values_0d):
    """Every tensor operand (1-d and 0-d of each dtype) as (encoding, torch value)."""
    out = []
    for dtype in TORCH_DTYPE:
        out.append(({"dtype": dtype, "shape": [4], "data": values[dtype]}, torch.tensor(values[dtype], dtype=TORCH_DTYPE[dtype])))
        out.append(({"dtype": dtype, "shape": [], "data": [values_0d[dtype]]}, torch.tensor(values_0d[dtype], dtype=TORCH_DTYPE[dtype])))
    return out


def scalars():
    return [({"scalar": s}, s) for s in SCALARS]


def outcome(fn):
    try:
        r = fn()
    except RuntimeError as e:
        return {"error": str(e).split("\n")[0]}
    return {"dtype": OUR_DTYPE[r.dtype], "shape": list(r.shape), "values": [special(v, PY_NAMES) for v in r.reshape(-1).tolist()]}


def binary(op, a, b):
    fn = OPS[op]
    if op in TAKES_NO_SCALAR and not isinstance(b, torch.Tensor):
        b = torch.tensor(b, dtype=torch.result_type(a, b))
    return fn(a, b)


def cases():
    for op in OPS:
        for ea, a in operands(FIRST, FIRST_0D):
            for eb, b in operands(SECOND, SECOND_0D) + scalars():
                yield {"op": op, "a": ea, "b": eb, **outcome(lambda: binary(op, a, b))}
    cond = [True, False, False, True]
    for ea, a in operands(FIRST, FIRST_0D) + scalars():
        for eb, b in operands(SECOND, SECOND_0D) + scalars():
            c = torch.tensor(cond)
            yield {"op": "where", "cond": cond, "a": ea, "b": eb, **outcome(lambda: torch.where(c, a, b))}
    for op in ["add_", "sub_", "mul_", "div_"]:
        for ea, a in operands(FIRST, FIRST_0D)[::2]:
            for eb, b in operands(SECOND, SECOND_0D) + scalars():
                yield {"op": op, "a": ea, "b": eb, **outcome(lambda: getattr(a.clone(), op)(b))}
    for op in ["add", "sub"]:
        for alpha in [2, 0.5]:
            for ea, a in operands(FIRST, FIRST_0D)[::2]:
                for eb, b in operands(SECOND, SECOND_0D)[::2] + scalars():
                    yield {"op": op, "alpha": alpha, "a": ea, "b": eb, **outcome(lambda: OPS[op](a, b, alpha=alpha))}


def main():
    rows = list(cases())
    print("wrote", write_fixture("promotion.json", __file__, {"cases": rows}), len(rows), "cases")


if __name__ == "__main__":
    main()
