#!/usr/bin/python3
"""Writes fixtures/attention-ops.json: PyTorch's split, chunk, tril, triu, masked_fill, cumsum, sort,
argsort and topk, with gradients (the building blocks of causal attention and of sampling).

    /usr/bin/python3 packages/test-utils/scripts/gen_attention_ops_fixtures.py    (or: pnpm fixtures)

One case per line: {op, note, inputs, args, outputs, cotangents, grads}. Inputs are float64 unless a
case says otherwise; `t` marks an input given as a transposed (non-contiguous) view. `outputs` lists
every returned tensor (split's pieces; sort's and topk's values then indices). `cotangents` holds a
flat cotangent per floating output (null for the others) and `grads` PyTorch's gradient of
sum(output * cotangent) w.r.t. each input (null where it has none). Non-finite floats are written as
JavaScript spells them ("NaN", "Infinity"), in args too. `anyTieOrder` marks a topk case with tied values, where
PyTorch's choice among equal values is unspecified: compare values, and indices only through them.
"""
import torch

from fixture_io import enc, special, write_fixture

torch.manual_seed(23)
NAN = float("nan")
INF = float("inf")


def encode(t, transposed=False):
    e = enc(t)
    e["data"] = [special(v) for v in e["data"]]
    if transposed:
        e["t"] = True
    return e


def randn(*shape, t=False, ties=False):
    base_shape = list(shape[:-2]) + [shape[-1], shape[-2]] if t else list(shape)
    base = torch.randn(base_shape, dtype=torch.float64)
    if ties:
        base = torch.round(base * 2) / 2  # halves: many equal values
    x = base.transpose(-1, -2) if t else base
    return x, t


def given(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype), False


OPS = {
    "split": lambda x, a: list(torch.split(x[0], a["splitSize"], a["dim"])),
    "chunk": lambda x, a: list(torch.chunk(x[0], a["chunks"], a["dim"])),
    "tril": lambda x, a: [torch.tril(x[0], a["diagonal"])],
    "triu": lambda x, a: [torch.triu(x[0], a["diagonal"])],
    "masked_fill": lambda x, a: [x[0].masked_fill(x[1], x[2] if len(x) > 2 else a["value"])],
    "cumsum": lambda x, a: [torch.cumsum(x[0], a["dim"], **({"dtype": torch.float64} if a.get("dtype") == "float64" else {}))],
    "sort": lambda x, a: list(torch.sort(x[0], dim=a["dim"], descending=a["descending"], stable=True)),
    "argsort": lambda x, a: [torch.sort(x[0], dim=a["dim"], descending=a["descending"], stable=True).indices],
    "topk": lambda x, a: list(torch.topk(x[0], a["k"], dim=a["dim"], largest=a["largest"])),
}

MASK = torch.tensor([[True, False, True, False, False]])
CASES = [
    ("split", "size 2 along dim 0", [randn(5, 3)], {"splitSize": 2, "dim": 0}),
    ("split", "size 3 along dim -1 of a transposed view", [randn(4, 7, t=True)], {"splitSize": 3, "dim": -1}),
    ("split", "sizes [1, 0, 3]", [randn(2, 4, 3)], {"splitSize": [1, 0, 3], "dim": 1}),
    ("split", "size larger than the dim", [randn(3, 2)], {"splitSize": 5, "dim": 0}),
    ("chunk", "7 into 3", [randn(7, 2)], {"chunks": 3, "dim": 0}),
    ("chunk", "6 into 4 gives 3", [randn(2, 6, t=True)], {"chunks": 4, "dim": -1}),
    ("chunk", "qkv along the last dim", [randn(2, 3, 12)], {"chunks": 3, "dim": 2}),
    ("tril", "square", [randn(4, 4)], {"diagonal": 0}),
    ("tril", "diagonal 1, wide", [randn(3, 5)], {"diagonal": 1}),
    ("tril", "diagonal -1, batched, transposed", [randn(2, 4, 3, t=True)], {"diagonal": -1}),
    ("tril", "diagonal far below", [randn(3, 3)], {"diagonal": -5}),
    ("tril", "NaN above the diagonal", [given([[1.0, NAN], [INF, 2.0]])], {"diagonal": 0}),
    ("triu", "square", [randn(4, 4)], {"diagonal": 0}),
    ("triu", "diagonal 1 (a causal mask), batched", [randn(2, 2, 4, 4)], {"diagonal": 1}),
    ("triu", "diagonal -2, tall, transposed", [randn(5, 3, t=True)], {"diagonal": -2}),
    ("triu", "diagonal far above", [randn(3, 4)], {"diagonal": 9}),
    ("masked_fill", "row mask broadcast", [randn(3, 5), (MASK, False)], {"value": -2.5}),
    ("masked_fill", "-inf, causal", [randn(2, 4, 4), (torch.triu(torch.ones(4, 4, dtype=torch.bool), 1), False)], {"value": -INF}),
    ("masked_fill", "mask broadcasts x", [randn(1, 5, t=True), (torch.randn(3, 5) > 0, False)], {"value": 7.0}),
    ("masked_fill", "0-d tensor value", [randn(2, 5), (torch.randn(2, 5) > 0, False), (torch.tensor(0.75, dtype=torch.float64), False)], {}),
    ("cumsum", "dim 0", [randn(4, 3)], {"dim": 0}),
    ("cumsum", "dim -1 of a transposed view", [randn(3, 6, t=True)], {"dim": -1}),
    ("cumsum", "3-d, dim 1", [randn(2, 5, 3)], {"dim": 1}),
    ("cumsum", "0-d", [(torch.tensor(1.25, dtype=torch.float64), False)], {"dim": 0}),
    ("cumsum", "int32", [given([[3, -1, 4], [1, 5, -9]], torch.int32)], {"dim": 1}),
    ("cumsum", "bool", [given([True, False, True, True], torch.bool)], {"dim": 0}),
    ("cumsum", "int32 with dtype float64", [given([2, 7, 1], torch.int32)], {"dim": 0, "dtype": "float64"}),
    ("cumsum", "NaN and infinities", [given([1.0, INF, 2.0, -INF, NAN, 3.0])], {"dim": 0}),
    ("sort", "ascending, last dim", [randn(3, 6)], {"dim": -1, "descending": False}),
    ("sort", "descending, dim 0 of a transposed view", [randn(5, 3, t=True)], {"dim": 0, "descending": True}),
    ("sort", "ties, stable", [randn(4, 8, ties=True)], {"dim": 1, "descending": False}),
    ("sort", "ties, stable, descending", [randn(4, 8, ties=True)], {"dim": 1, "descending": True}),
    ("sort", "NaN and infinities ascending", [given([[3.0, NAN, -INF, 1.0, NAN, INF, -0.0, 0.0]])], {"dim": 1, "descending": False}),
    ("sort", "NaN and infinities descending", [given([[3.0, NAN, -INF, 1.0, NAN, INF, -0.0, 0.0]])], {"dim": -1, "descending": True}),
    ("sort", "3-d, dim 1", [randn(2, 5, 3)], {"dim": 1, "descending": False}),
    ("sort", "int32", [given([[4, -2, 7, -2, 0]], torch.int32)], {"dim": 1, "descending": True}),
    ("argsort", "ties, stable", [randn(3, 7, ties=True)], {"dim": -1, "descending": False}),
    ("argsort", "dim 0, descending, transposed", [randn(4, 3, t=True)], {"dim": 0, "descending": True}),
    ("topk", "k 3 largest", [randn(4, 7)], {"k": 3, "dim": -1, "largest": True}),
    ("topk", "k 2 smallest, dim 0 of a transposed view", [randn(5, 3, t=True)], {"k": 2, "dim": 0, "largest": False}),
    ("topk", "k equal to the size", [randn(2, 4)], {"k": 4, "dim": 1, "largest": True}),
    ("topk", "k 0", [randn(2, 4)], {"k": 0, "dim": 1, "largest": True}),
    ("topk", "NaN is the largest", [given([[1.0, NAN, 3.0, -INF, 2.0]])], {"k": 2, "dim": 1, "largest": True}),
    ("topk", "smallest with -inf and NaN", [given([[1.0, NAN, 3.0, -INF, 2.0]])], {"k": 3, "dim": 1, "largest": False}),
    ("topk", "3-d, dim 1", [randn(2, 6, 3)], {"k": 2, "dim": 1, "largest": True}),
    ("topk", "ties", [randn(3, 9, ties=True)], {"k": 4, "dim": 1, "largest": True}),
]


def case(op, note, specs, args):
    inputs = [t.clone().requires_grad_(t.dtype == torch.float64) if t.dtype == torch.float64 else t for t, _ in specs]
    # A transposed input: the same values as a transposed view of contiguous storage.
    views = [x.transpose(-1, -2).contiguous().transpose(-1, -2) if tr else x for x, (_, tr) in zip(inputs, specs)]
    outputs = OPS[op](views, args)
    cotangents = [torch.randn(o.shape, dtype=torch.float64) if o.dtype == torch.float64 and o.requires_grad else None for o in outputs]
    any_ties = op == "topk" and note == "ties"
    grads = [None] * len(inputs)
    if not any_ties and any(c is not None for c in cotangents) and any(x.requires_grad for x in inputs):
        total = sum((o * c).sum() for o, c in zip(outputs, cotangents) if c is not None)
        leaves = [x for x in inputs if x.requires_grad]
        got = torch.autograd.grad(total, leaves, allow_unused=True)
        it = iter(got)
        grads = [(lambda g, x: None if g is None else [special(v) for v in g.reshape(-1).tolist()])(next(it), x) if x.requires_grad else None for x in inputs]
    out = {
        "op": op,
        "note": note,
        "inputs": [encode(x, tr) for x, (_, tr) in zip(inputs, specs)],
        "args": {k: special(v) for k, v in args.items()},
        "outputs": [encode(o) for o in outputs],
        "cotangents": [None if c is None or any_ties else c.reshape(-1).tolist() for c in cotangents],
        "grads": grads,
    }
    if any_ties:
        out["anyTieOrder"] = True
    return out


def main():
    cases = [case(*c) for c in CASES]
    path = write_fixture("attention-ops.json", __file__, {"cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
