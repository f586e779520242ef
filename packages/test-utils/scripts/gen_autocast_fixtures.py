#!/usr/bin/python3
"""Writes fixtures/autocast-policy.json: the dtype each op returns under torch.autocast('cpu', dtype=torch.bfloat16).

    /usr/bin/python3 packages/test-utils/scripts/gen_autocast_fixtures.py    (or: pnpm fixtures)

One case per line: the op (tsgrad's name), its tensor arguments (shape and dtype; int64 written as
tsgrad's int32) and the result's dtype, under autocast and without it (null: an Error without autocast). The ops are those of tsgrad's
AUTOCAST_CPU_POLICY plus unlisted ops that must keep their inputs' dtype. torch 1.13's CPU lists agree
with 2.x's (aten/src/ATen/autocast_mode.cpp, AutocastCPU) for every op here; 2.x additionally lists
scaled_dot_product_attention (lower precision), which 1.13 has no public function for, and 2.x allows
float16 on the CPU, which 1.13 refuses (it warns and disables autocast): both are tested in
nn/test/autocast.test.ts against explicit casts instead.
"""
import torch
import torch.nn.functional as F

from fixture_io import write_fixture

F32, BF16, F64, I64 = torch.float32, torch.bfloat16, torch.float64, torch.int64
NAMES = {F32: "float32", BF16: "bfloat16", F64: "float64", I64: "int32"}

OPS = {
    "matmul": lambda a, b: a.matmul(b),
    "linear": lambda x, w, b: F.linear(x, w, b),
    "conv2d": lambda x, w, b: F.conv2d(x, w, b),
    "mseLoss": lambda a, b: F.mse_loss(a, b),
    "l1Loss": lambda a, b: F.l1_loss(a, b),
    "nllLoss": lambda a, t: F.nll_loss(a, t),
    "crossEntropy": lambda a, t: F.cross_entropy(a, t),
    "binaryCrossEntropyWithLogits": lambda a, b: F.binary_cross_entropy_with_logits(a, b),
    "cat": lambda a, b: torch.cat([a, b]),
    "stack": lambda a, b: torch.stack([a, b]),
    "add": lambda a, b: a + b,
    "relu": lambda a: a.relu(),
    "softmax": lambda a: a.softmax(-1),
    "logSoftmax": lambda a: a.log_softmax(-1),
    "logsumexp": lambda a: a.logsumexp(-1),
    "sum": lambda a: a.sum(),
    "mean": lambda a: a.mean(),
    "layerNorm": lambda a: F.layer_norm(a, [a.shape[-1]]),
}

M = [3, 4]
CASES = [
    ("matmul", [(M, F32), ([4, 2], F32)]),
    ("matmul", [(M, BF16), ([4, 2], F32)]),
    ("matmul", [(M, F64), ([4, 2], F64)]),
    ("linear", [(M, F32), ([2, 4], F32), ([2], F32)]),
    ("linear", [(M, BF16), ([2, 4], F32), ([2], F32)]),
    ("conv2d", [([1, 2, 4, 4], F32), ([3, 2, 2, 2], F32), ([3], F32)]),
    ("mseLoss", [(M, BF16), (M, F32)]),
    ("mseLoss", [(M, BF16), (M, BF16)]),
    ("mseLoss", [(M, F64), (M, F64)]),
    ("l1Loss", [(M, BF16), (M, BF16)]),
    ("nllLoss", [(M, BF16), ([3], I64)]),
    ("crossEntropy", [(M, BF16), ([3], I64)]),
    ("crossEntropy", [(M, F32), ([3], I64)]),
    ("binaryCrossEntropyWithLogits", [(M, BF16), (M, BF16)]),
    ("cat", [(M, BF16), (M, BF16)]),
    ("cat", [(M, BF16), (M, F32)]),
    ("cat", [(M, BF16), (M, F64)]),
    ("stack", [(M, BF16), (M, F32)]),
    ("stack", [(M, BF16), (M, BF16)]),
    ("add", [(M, BF16), (M, F32)]),
    ("relu", [(M, F32)]),
    ("relu", [(M, BF16)]),
    ("softmax", [(M, F32)]),
    ("softmax", [(M, BF16)]),
    ("logSoftmax", [(M, BF16)]),
    ("logsumexp", [(M, BF16)]),
    ("sum", [(M, BF16)]),
    ("mean", [(M, BF16)]),
    ("layerNorm", [(M, BF16)]),
]


def make(shape, dtype):
    if dtype == I64:
        return torch.randint(0, 4, shape)
    return torch.rand(shape).to(dtype)


def case(op, args):
    torch.manual_seed(0)
    inputs = [make(s, d) for s, d in args]
    try:
        plain = NAMES[OPS[op](*inputs).dtype]
    except RuntimeError:
        plain = None  # mixed dtypes are an Error outside autocast (matmul, linear)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = OPS[op](*inputs).dtype
    return {"op": op, "args": [{"shape": s, "dtype": NAMES[d]} for s, d in args], "plain": plain, "autocast": NAMES[out]}


if __name__ == "__main__":
    print(write_fixture("autocast-policy.json", __file__, {"cases": [case(*c) for c in CASES]}))
