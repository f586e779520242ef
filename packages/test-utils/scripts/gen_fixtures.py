#!/usr/bin/python3
"""Writes tsgrad's PyTorch reference fixtures (run with Debian's python3-torch: /usr/bin/python3).

    /usr/bin/python3 packages/test-utils/scripts/gen_fixtures.py      (or: pnpm fixtures)

fixtures/ops.json    one case per (op, sample): float64 inputs, args, PyTorch's output, a cotangent v
                     and PyTorch's gradient of sum(output * v) w.r.t. every floating input.
                     Op names and args mirror the opInfos table in src/op-infos.ts; the declared
                     elementwise ops come from fixtures/elementwise-ops.json (@tsgrad/tensor's table).
fixtures/seed000.json  the forum example of shared/seeds/000 (numpy seed 123, x 3x4 @ w 4x5).

Tests read the committed JSON; CI never needs torch. Python's float repr round-trips exactly, so the
JSON holds the exact float64 values.
"""
import numpy as np
import torch

from fixture_io import elementwise_ops, enc, write_fixture

torch.manual_seed(0)


def S(*shape, kind="randn", t=False, high=None):
    """An input spec: final shape, value kind, and whether it is a transposed view of its storage."""
    return {"shape": list(shape), "kind": kind, "t": t, "high": high}


def make_input(spec):
    shape = spec["shape"]
    base_shape = shape[:-2] + [shape[-1], shape[-2]] if spec["t"] else shape
    kind = spec["kind"]
    if kind == "randn":
        base = torch.randn(base_shape, dtype=torch.float64)
    elif kind == "pos":
        base = torch.rand(base_shape, dtype=torch.float64) * 1.5 + 0.5
    elif kind == "grid":
        base = torch.linspace(-7, 7, base_shape[0], dtype=torch.float64)
    elif kind == "bool":
        base = torch.randn(base_shape, dtype=torch.float64) > 0
    elif kind == "index":
        base = torch.randint(0, spec["high"], base_shape, dtype=torch.int32)
    else:
        raise ValueError(kind)
    return base.transpose(-1, -2) if spec["t"] else base


def opt_dim(a):
    return a.get("dim")


def reduce_kw(fn):
    def run(x, a):
        if a.get("dim") is None:
            return fn(x[0])
        return fn(x[0], dim=a["dim"], keepdim=a.get("keepdim", False))
    return run


def var_like(fn):
    def run(x, a):
        unbiased = a.get("correction", 1) == 1
        if a.get("dim") is None:
            return fn(x[0], unbiased=unbiased)
        return fn(x[0], dim=a["dim"], unbiased=unbiased, keepdim=a.get("keepdim", False))
    return run


OPS = {
    "neg": lambda x, a: x[0].neg(),
    "exp": lambda x, a: x[0].exp(),
    "log": lambda x, a: x[0].log(),
    "sqrt": lambda x, a: x[0].sqrt(),
    "rsqrt": lambda x, a: x[0].rsqrt(),
    "reciprocal": lambda x, a: x[0].reciprocal(),
    "square": lambda x, a: x[0].square(),
    "abs": lambda x, a: x[0].abs(),
    "relu": lambda x, a: x[0].relu(),
    "sigmoid": lambda x, a: x[0].sigmoid(),
    "tanh": lambda x, a: x[0].tanh(),
    "erf": lambda x, a: x[0].erf(),
    "add": lambda x, a: x[0] + x[1],
    "add_alpha": lambda x, a: torch.add(x[0], x[1], alpha=a["alpha"]),
    "add_scalar": lambda x, a: x[0] + a["other"],
    "sub": lambda x, a: x[0] - x[1],
    "mul": lambda x, a: x[0] * x[1],
    "mul_scalar": lambda x, a: x[0] * a["other"],
    "div": lambda x, a: x[0] / x[1],
    "div_scalar": lambda x, a: x[0] / a["other"],
    "pow": lambda x, a: x[0].pow(x[1]),
    "pow_scalar": lambda x, a: x[0].pow(a["exponent"]),
    "maximum": lambda x, a: torch.maximum(x[0], x[1]),
    "minimum": lambda x, a: torch.minimum(x[0], x[1]),
    "where": lambda x, a: torch.where(x[0], x[1], x[2]),
    "clamp": lambda x, a: x[0].clamp(min=a.get("min"), max=a.get("max")),
    "matmul": lambda x, a: torch.matmul(x[0], x[1]),
    "sum": reduce_kw(torch.sum),
    "mean": reduce_kw(torch.mean),
    "max": reduce_kw(torch.amax),
    "min": reduce_kw(torch.amin),
    "var": var_like(torch.var),
    "std": var_like(torch.std),
    "logsumexp": lambda x, a: torch.logsumexp(x[0], dim=a["dim"], keepdim=a.get("keepdim", False)),
    "softmax": lambda x, a: torch.softmax(x[0], dim=a["dim"]),
    "log_softmax": lambda x, a: torch.log_softmax(x[0], dim=a["dim"]),
    "reshape": lambda x, a: x[0].reshape(a["shape"]),
    "view": lambda x, a: x[0].view(a["shape"]),
    "transpose": lambda x, a: x[0].transpose(a["dim0"], a["dim1"]),
    "permute": lambda x, a: x[0].permute(a["dims"]),
    "unsqueeze": lambda x, a: x[0].unsqueeze(a["dim"]),
    "squeeze": lambda x, a: x[0].squeeze(a["dim"]) if "dim" in a else x[0].squeeze(),
    "expand": lambda x, a: x[0].expand(a["shape"]),
    "flatten": lambda x, a: x[0].flatten(a.get("start", 0), a.get("end", -1)),
    "narrow": lambda x, a: x[0].narrow(a["dim"], a["start"], a["length"]),
    "slice": lambda x, a: x[0][(slice(None),) * a["dim"] + (slice(a["start"], a["end"], a["step"]),)],
    "select": lambda x, a: x[0].select(a["dim"], a["index"]),
    "cat": lambda x, a: torch.cat(x, dim=a["dim"]),
    "stack": lambda x, a: torch.stack(x, dim=a["dim"]),
    "gather": lambda x, a: torch.gather(x[0], a["dim"], x[1].long()),
    "index_select": lambda x, a: torch.index_select(x[0], a["dim"], x[1].long()),
    "scatter_add": lambda x, a: x[0].scatter_add(a["dim"], x[1].long(), x[2]),
    "contiguous": lambda x, a: x[0].contiguous(),
    "clone": lambda x, a: x[0].clone(),
    "eq": lambda x, a: x[0] == x[1],
    "lt": lambda x, a: x[0] < x[1],
    "ge": lambda x, a: x[0] >= x[1],
    "argmax": lambda x, a: x[0].argmax(dim=a.get("dim"), keepdim=a.get("keepdim", False)).int(),
    "argmin": lambda x, a: x[0].argmin(dim=a.get("dim"), keepdim=a.get("keepdim", False)).int(),
    # Multi-output ops as one tensor (the op table's shape): split's pieces concatenated in reverse,
    # chunk's stacked, sort's and topk's values (their indices: fixtures/attention-ops.json).
    "split": lambda x, a: torch.cat(list(reversed(torch.split(x[0], a["splitSize"], a["dim"]))), a["dim"]),
    "chunk": lambda x, a: torch.stack(torch.chunk(x[0], a["chunks"], a["dim"])),
    "tril": lambda x, a: torch.tril(x[0], a["diagonal"]),
    "triu": lambda x, a: torch.triu(x[0], a["diagonal"]),
    "masked_fill": lambda x, a: x[0].masked_fill(x[1], a["value"]),
    "cumsum": lambda x, a: torch.cumsum(x[0], a["dim"]),
    "sort": lambda x, a: torch.sort(x[0], dim=a["dim"], descending=a["descending"]).values,
    "topk": lambda x, a: torch.topk(x[0], a["k"], dim=a["dim"], largest=a["largest"]).values,
    "argsort": lambda x, a: torch.argsort(x[0], dim=a["dim"], descending=a["descending"]).int(),
}

UNARY = ["neg", "exp", "abs", "relu", "sigmoid", "tanh", "erf", "square"]
POSITIVE_UNARY = ["log", "sqrt", "rsqrt", "reciprocal"]
# Every other declared differentiable unary op (the table's order), cased after everything else so that
# a new op adds cases without changing the random inputs of the others.
DECLARED = [op for op in elementwise_ops() if op["arity"] == 1 and op["differentiable"]]
for op in DECLARED:
    OPS.setdefault(op["name"], (lambda f: lambda x, a: f(x[0]))(op["fn"]))
NEW_UNARY = [op for op in DECLARED if op["name"] not in UNARY + POSITIVE_UNARY]

CASES = []
for op in UNARY:
    CASES += [(op, "contiguous", [S(3, 4)], {}), (op, "transposed view", [S(2, 3, t=True)], {})]
for op in POSITIVE_UNARY:
    CASES += [(op, "contiguous", [S(3, 4, kind="pos")], {}), (op, "transposed view", [S(4, 3, kind="pos", t=True)], {})]
for op in ["add", "sub", "mul", "maximum", "minimum"]:
    CASES += [
        (op, "same shape", [S(3, 4), S(3, 4)], {}),
        (op, "broadcast [3,1] x [4]", [S(3, 1), S(4)], {}),
        (op, "transposed x broadcast 0-d", [S(4, 3, t=True), S()], {}),
    ]
CASES += [
    ("erf", "grid -7..7 (series and continued-fraction branches)", [S(141, kind="grid")], {}),
    ("div", "same shape", [S(3, 4), S(3, 4, kind="pos")], {}),
    ("div", "broadcast", [S(2, 1, 3), S(4, 1, kind="pos")], {}),
    ("pow", "tensor exponent", [S(3, 4, kind="pos"), S(3, 4)], {}),
    ("pow", "broadcast exponent", [S(2, 3, kind="pos"), S(3)], {}),
    ("add_alpha", "alpha -0.5", [S(3, 4), S(4)], {"alpha": -0.5}),
    ("add_scalar", "number", [S(3, 4)], {"other": 2.5}),
    ("mul_scalar", "number", [S(3, 4, t=True)], {"other": -3.25}),
    ("div_scalar", "number", [S(3, 4)], {"other": 7.0}),
    ("pow_scalar", "square", [S(3, 4)], {"exponent": 2.0}),
    ("pow_scalar", "fractional", [S(3, 4, kind="pos")], {"exponent": 1.5}),
    ("where", "broadcast", [S(3, 4, kind="bool"), S(3, 4), S(4)], {}),
    ("clamp", "both", [S(4, 5)], {"min": -0.5, "max": 0.7}),
    ("clamp", "min only", [S(4, 5)], {"min": 0.1}),
    ("matmul", "2d", [S(3, 4), S(4, 5)], {}),
    ("matmul", "transposed A", [S(3, 4, t=True), S(4, 5)], {}),
    ("matmul", "transposed B", [S(3, 4), S(4, 5, t=True)], {}),
    ("matmul", "batched", [S(2, 3, 4), S(2, 4, 5)], {}),
    ("matmul", "broadcast batch", [S(2, 1, 3, 4), S(3, 4, 2)], {}),
    ("matmul", "vector-matrix", [S(4), S(4, 5)], {}),
    ("matmul", "matrix-vector", [S(3, 4), S(4)], {}),
    ("matmul", "dot", [S(4), S(4)], {}),
]
for op in ["sum", "mean"]:
    CASES += [
        (op, "all", [S(3, 4)], {}),
        (op, "dim 1", [S(3, 4)], {"dim": 1}),
        (op, "dims [0, 2] keepdim, transposed", [S(2, 3, 4, t=True)], {"dim": [0, 2], "keepdim": True}),
        (op, "negative dim", [S(2, 3, 4)], {"dim": -1}),
    ]
for op in ["max", "min"]:
    CASES += [(op, "all", [S(3, 4)], {}), (op, "dim 0 keepdim", [S(3, 4, t=True)], {"dim": 0, "keepdim": True})]
for op in ["var", "std"]:
    CASES += [
        (op, "all unbiased", [S(3, 4)], {}),
        (op, "dim 1 biased", [S(3, 4)], {"dim": 1, "correction": 0}),
        (op, "dims [0, 2] keepdim", [S(2, 3, 4)], {"dim": [0, 2], "keepdim": True}),
    ]
CASES += [
    ("logsumexp", "dim 1", [S(3, 4)], {"dim": 1}),
    ("logsumexp", "dim 0 keepdim", [S(3, 4, t=True)], {"dim": 0, "keepdim": True}),
    ("softmax", "dim -1", [S(3, 5)], {"dim": -1}),
    ("softmax", "dim 0, transposed", [S(3, 5, t=True)], {"dim": 0}),
    ("log_softmax", "dim 1", [S(2, 3, 4)], {"dim": 1}),
    ("reshape", "contiguous", [S(3, 4)], {"shape": [2, 6]}),
    ("reshape", "copy of transposed", [S(3, 4, t=True)], {"shape": [12]}),
    ("reshape", "infer -1", [S(2, 3, 4)], {"shape": [-1, 4]}),
    ("view", "split dim", [S(6, 4)], {"shape": [2, 3, 4]}),
    ("transpose", "0,2", [S(2, 3, 4)], {"dim0": 0, "dim1": 2}),
    ("permute", "2,0,1", [S(2, 3, 4)], {"dims": [2, 0, 1]}),
    ("unsqueeze", "dim 1", [S(3, 4)], {"dim": 1}),
    ("squeeze", "all", [S(3, 1, 4, 1)], {}),
    ("squeeze", "dim 1", [S(3, 1, 4, 1)], {"dim": 1}),
    ("expand", "broadcast", [S(3, 1)], {"shape": [2, 3, 4]}),
    ("flatten", "1..2", [S(2, 3, 4, 2)], {"start": 1, "end": 2}),
    ("narrow", "dim 1", [S(3, 5)], {"dim": 1, "start": 1, "length": 3}),
    ("slice", "step 2", [S(4, 7)], {"dim": 1, "start": 1, "end": 6, "step": 2}),
    ("select", "dim 0", [S(3, 4)], {"dim": 0, "index": -1}),
    ("cat", "dim 0", [S(2, 3), S(1, 3), S(3, 3, t=True)], {"dim": 0}),
    ("cat", "dim 1", [S(2, 3), S(2, 2)], {"dim": 1}),
    ("stack", "dim 1", [S(2, 3), S(2, 3)], {"dim": 1}),
    ("gather", "dim 1", [S(3, 4), S(3, 6, kind="index", high=4)], {"dim": 1}),
    ("gather", "dim 0", [S(3, 4), S(5, 2, kind="index", high=3)], {"dim": 0}),
    ("index_select", "rows", [S(5, 3), S(7, kind="index", high=5)], {"dim": 0}),
    ("scatter_add", "dim 0", [S(4, 3), S(6, 3, kind="index", high=4), S(6, 3)], {"dim": 0}),
    ("contiguous", "of transposed", [S(3, 4, t=True)], {}),
    ("clone", "contiguous", [S(3, 4)], {}),
    ("eq", "broadcast", [S(3, 4), S(4)], {}),
    ("lt", "same shape", [S(3, 4), S(3, 4)], {}),
    ("ge", "transposed", [S(3, 4, t=True), S(3, 4)], {}),
    ("argmax", "dim 1", [S(3, 5)], {"dim": 1}),
    ("argmax", "all", [S(3, 5)], {}),
    ("argmin", "dim 0 keepdim", [S(3, 5, t=True)], {"dim": 0, "keepdim": True}),
]
for op in NEW_UNARY:
    kind = "pos" if op["domain"] == ["positive"] else "randn"
    CASES += [(op["name"], "contiguous", [S(3, 4, kind=kind)], {}), (op["name"], "transposed view", [S(2, 3, kind=kind, t=True)], {})]
    if kind == "randn":
        # Both sides of every branch (softplus's threshold is 20, beyond this grid: see special-values).
        CASES += [(op["name"], "grid -7..7", [S(141, kind="grid")], {})]

# The ops of attention and sampling (after the declared ops' cases, so their inputs stay as they were).
CASES += [
    ("split", "sizes [1, 3] along dim 1 of a transposed view", [S(3, 4, t=True)], {"splitSize": [1, 3], "dim": 1}),
    ("split", "size 2 along dim 0", [S(5, 3)], {"splitSize": 2, "dim": 0}),
    ("chunk", "3 along the last dim", [S(2, 3, 6)], {"chunks": 3, "dim": -1}),
    ("tril", "batched, diagonal -1", [S(2, 4, 3)], {"diagonal": -1}),
    ("tril", "transposed view", [S(4, 4, t=True)], {"diagonal": 0}),
    ("triu", "diagonal 1", [S(3, 5)], {"diagonal": 1}),
    ("masked_fill", "broadcast mask", [S(3, 4), S(1, 4, kind="bool")], {"value": -1.5}),
    ("masked_fill", "transposed input", [S(3, 4, t=True), S(3, 4, kind="bool")], {"value": 0.0}),
    ("cumsum", "dim 1", [S(3, 5)], {"dim": 1}),
    ("cumsum", "dim 0 of a transposed view", [S(4, 3, t=True)], {"dim": 0}),
    ("sort", "last dim", [S(3, 6)], {"dim": -1, "descending": False}),
    ("sort", "descending, dim 0 of a transposed view", [S(5, 3, t=True)], {"dim": 0, "descending": True}),
    ("topk", "k 2 largest", [S(3, 6)], {"k": 2, "dim": 1, "largest": True}),
    ("topk", "k 3 smallest, dim 0", [S(5, 3, t=True)], {"k": 3, "dim": 0, "largest": False}),
    ("argsort", "last dim", [S(3, 6)], {"dim": -1, "descending": False}),
    ("argsort", "descending, dim 0 of a transposed view", [S(5, 3, t=True)], {"dim": 0, "descending": True}),
]


def op_cases():
    cases = []
    for op, note, specs, args in CASES:
        inputs = [make_input(s) for s in specs]
        # Gradients w.r.t. the (possibly transposed) views themselves, in their own shape: each view is
        # detached into a leaf of its own that keeps the view's strides.
        grad_inputs = [x.detach().requires_grad_(True) if x.is_floating_point() else x for x in inputs]
        out = OPS[op](grad_inputs, args)
        case = {
            "op": op,
            "note": note,
            "inputs": [dict(enc(x), t=s["t"]) for x, s in zip(inputs, specs)],
            "args": args,
            "output": enc(out),
        }
        if out.is_floating_point() and out.requires_grad:
            v = torch.randn(out.shape, dtype=torch.float64)
            (out * v).sum().backward()
            case["cotangent"] = v.reshape(-1).tolist()
            case["grads"] = [
                (x.grad.reshape(-1).tolist() if x.grad is not None else [0.0] * x.numel()) if x.is_floating_point() else None
                for x in grad_inputs
            ]
        cases.append(case)
    return cases


def seed000():
    """The forum thread: numpy seed 123, float64 x (3x4) and w (4x5), loss = (x @ w).sum(), SGD(lr 0.1, wd 0.9)."""
    np.random.seed(123)
    x_np = np.random.random((3, 4)).astype(np.double)
    w_np = np.random.random((4, 5)).astype(np.double)
    x = torch.tensor(x_np, requires_grad=True)
    w = torch.tensor(w_np, requires_grad=True)
    sgd = torch.optim.SGD([w], lr=0.1, weight_decay=0.9)
    loss = torch.matmul(x, w).sum()
    sgd.zero_grad()
    loss.backward()
    grad = w.grad.detach().clone()
    sgd.step()
    return {
        "x": x_np.tolist(),
        "w": w_np.tolist(),
        "loss": loss.item(),
        "w_grad": grad.tolist(),
        "x_grad": x.grad.tolist(),
        "w_after_sgd": w.detach().tolist(),
        "grad_after_step": w.grad.tolist(),
    }


def main():
    print("wrote", write_fixture("ops.json", __file__, {"cases": op_cases()}))
    print("wrote", write_fixture("seed000.json", __file__, seed000()))


if __name__ == "__main__":
    main()
