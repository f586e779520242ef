#!/usr/bin/python3
"""Writes fixtures/sparse.json: PyTorch's optimizers on sparse embedding gradients.

    /usr/bin/python3 packages/test-utils/scripts/gen_sparse_fixtures.py    (or: pnpm fixtures)

A float64 nn.Embedding(10, 4, sparse=True, padding_idx=0) is trained for STEPS steps with lookups
that repeat rows and hit the padding row; each step records PyTorch's own (uncoalesced) sparse
gradient (indices and values) and the weight after the optimizer step, for Adagrad (its sparse
branch), SparseAdam and plain SGD. A dense copy records the dense gradient for the same lookups.
"""
import json

import torch

from fixture_io import write_fixture

torch.set_default_dtype(torch.float64)
STEPS = 20

CASES = [
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.05, "maximize": True}),
    ("SparseAdam", {"lr": 0.01}),
    ("SparseAdam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "maximize": True}),
    ("SGD", {"lr": 0.1}),
]
CAMEL = {"lr_decay": "lrDecay", "initial_accumulator_value": "initialAccumulatorValue"}


def main():
    cases = []
    for n, (name, options) in enumerate(CASES):
        torch.manual_seed(100 + n)
        emb = torch.nn.Embedding(10, 4, sparse=True, padding_idx=0)
        init = emb.weight.detach().reshape(-1).tolist()
        opt = getattr(torch.optim, name)(emb.parameters(), **options)
        steps = []
        for t in range(STEPS):
            idx = torch.randint(0, 10, (7,))
            idx[0] = idx[1]  # a repeated row
            if t % 3 == 0:
                idx[2] = 0  # the padding row
            w_out = torch.randn(7, 4)
            opt.zero_grad()
            (emb(idx) * w_out).sum().backward()
            g = emb.weight.grad
            opt.step()
            steps.append({
                "lookup": idx.tolist(), "upstream": w_out.reshape(-1).tolist(),
                "gradIndices": g._indices().reshape(-1).tolist(), "gradValues": g._values().reshape(-1).tolist(),
                "weight": emb.weight.detach().reshape(-1).tolist(),
            })
        cases.append({"name": f"{name} {json.dumps({CAMEL.get(k, k): v for k, v in options.items()}, sort_keys=True)}", "optimizer": name,
                      "options": {CAMEL.get(k, k): (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}, "init": init, "steps": steps})
    path = write_fixture("sparse.json", __file__, {"shape": [10, 4], "paddingIdx": 0, "cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
