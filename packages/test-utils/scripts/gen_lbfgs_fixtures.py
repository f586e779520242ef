#!/usr/bin/python3
"""Writes fixtures/lbfgs.json: PyTorch's L-BFGS on a small smooth problem, for tsgrad's LBFGS tests.

    /usr/bin/python3 packages/test-utils/scripts/gen_lbfgs_fixtures.py    (or: pnpm fixtures)

The problem: W [3, 2] and v [2] minimizing mean((X W + v - Y)^2) + 0.01 sum(W^4), X [6, 3] and Y [6, 2]
fixed. Each case runs three `step(closure)` calls of torch.optim.LBFGS with tsgrad's option names
(converted here) and records the loss each step returned, the parameters after each step, and the
state's n_iter and func_evals at the end.
"""
import torch

from fixture_io import snake, write_fixture

torch.set_default_dtype(torch.float64)

CASES = [
    {"lr": 1.0},
    {"lr": 1.0, "lineSearchFn": "strong_wolfe", "historySize": 5},
    {"lr": 0.5, "maxIter": 5, "historySize": 3},
    {"lr": 1.0, "lineSearchFn": "strong_wolfe", "maxIter": 4, "toleranceGrad": 1e-3},
]


def main():
    torch.manual_seed(5)
    X = torch.randn(6, 3)
    Y = torch.randn(6, 2)
    W0 = torch.randn(3, 2)
    v0 = torch.randn(2)
    cases = []
    for options in CASES:
        W = W0.clone().requires_grad_()
        v = v0.clone().requires_grad_()
        opt = torch.optim.LBFGS([W, v], **{snake(k): val for k, val in options.items()})

        def closure():
            opt.zero_grad()
            loss = ((X @ W + v - Y) ** 2).mean() + 0.01 * (W ** 4).sum()
            loss.backward()
            return loss

        losses, params = [], []
        for _ in range(3):
            losses.append(opt.step(closure).item())
            params.append([W.detach().reshape(-1).tolist(), v.detach().tolist()])
        st = opt.state[W]
        cases.append({"options": options, "losses": losses, "params": params, "nIter": st["n_iter"], "funcEvals": st["func_evals"]})
    path = write_fixture("lbfgs.json", __file__, {"X": X.tolist(), "Y": Y.tolist(), "W0": W0.tolist(), "v0": v0.tolist(), "cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
