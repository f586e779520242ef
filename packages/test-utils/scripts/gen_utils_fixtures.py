#!/usr/bin/python3
"""Writes fixtures/utils.json: PyTorch references for tsgrad's training utilities.

    /usr/bin/python3 packages/test-utils/scripts/gen_utils_fixtures.py    (or: pnpm fixtures)

clip_grad_norm: three float64 parameters (one without a gradient), their gradients, and for each
  (max_norm, norm_type) the total norm returned and the gradients after torch.nn.utils.clip_grad_norm_.
clip_grad_value: the gradients after torch.nn.utils.clip_grad_value_.
parameters_to_vector: the flattened vector.
"""
import json
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(7)
torch.set_default_dtype(torch.float64)

SHAPES = [[3, 4], [5], [2, 2]]


def params_with_grads():
    torch.manual_seed(7)
    params = [torch.randn(s, requires_grad=True) for s in SHAPES]
    for k, p in enumerate(params):
        p.grad = None if k == 1 else torch.randn(p.shape) * (k + 1)
    return params


def flat(ts):
    return [t.reshape(-1).tolist() if t is not None else None for t in ts]


def main():
    params = params_with_grads()
    out = {
        "generator": "packages/test-utils/scripts/gen_utils_fixtures.py",
        "torch": torch.__version__,
        "shapes": SHAPES,
        "params": flat([p.detach() for p in params]),
        "grads": flat([p.grad for p in params]),
        "clip_grad_norm": [],
        "clip_grad_value": [],
    }
    for max_norm, norm_type in [(1.0, 2.0), (0.5, 1.0), (0.3, math.inf), (2.0, 3.0), (1e6, 2.0)]:
        ps = params_with_grads()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        out["clip_grad_norm"].append({
            "maxNorm": max_norm,
            "normType": "inf" if math.isinf(norm_type) else norm_type,
            "total": total.item(),
            "grads": flat([p.grad for p in ps]),
        })
    for clip in [0.1, 1.5]:
        ps = params_with_grads()
        torch.nn.utils.clip_grad_value_(ps, clip)
        out["clip_grad_value"].append({"clipValue": clip, "grads": flat([p.grad for p in ps])})
    out["parameters_to_vector"] = torch.nn.utils.parameters_to_vector(params).detach().tolist()
    path = os.path.join(HERE, "..", "fixtures", "utils.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
