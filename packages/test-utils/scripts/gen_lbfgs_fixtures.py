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
    wolfe_cases()


# The strong-Wolfe cases (fixtures/lbfgs-wolfe.json): one line search (maxIter 1) on the tilted double
# well f(x) = (x^2 - 1)^2 + a x from x0, where each of PyTorch's constants decides the accepted step: at
# the first trial the sufficient decrease ratio is 7.7e-4 (accepted with c1 = 1e-4, not 1e-3) in the
# first case, and the curvature ratio |phi'(t)| / |phi'(0)| is 0.846 (accepted with c2 = 0.9, not 0.8)
# in the second. `changed` records the step under the other constant, asserted different here.
WOLFE_CASES = [
    {"a": 0.3, "x0": 1.3, "lr": 1.5, "decides": "c1", "other": {"c1": 1e-3}},
    {"a": 0.0, "x0": 0.3, "lr": 0.8, "decides": "c2", "other": {"c2": 0.8}},
]


def wolfe_step(case, constants):
    import torch.optim.lbfgs as lbfgs

    original = lbfgs._strong_wolfe
    lbfgs._strong_wolfe = lambda *args, **kw: original(*args, **{**kw, **constants})
    try:
        x = torch.tensor([case["x0"]], requires_grad=True)
        opt = torch.optim.LBFGS([x], lr=case["lr"], max_iter=1, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = ((x ** 2 - 1) ** 2 + case["a"] * x).sum()
            loss.backward()
            return loss

        loss = opt.step(closure).item()
        return {"x": x.item(), "loss": loss, "funcEvals": opt.state[x]["func_evals"]}
    finally:
        lbfgs._strong_wolfe = original


def wolfe_cases():
    cases = []
    for case in WOLFE_CASES:
        step = wolfe_step(case, {})
        changed = wolfe_step(case, case["other"])
        assert abs(step["x"] - changed["x"]) > 1e-3, case
        cases.append({**case, "options": {"lr": case["lr"], "maxIter": 1, "lineSearchFn": "strong_wolfe"}, **step, "changed": changed["x"]})
    path = write_fixture("lbfgs-wolfe.json", __file__, {"cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
