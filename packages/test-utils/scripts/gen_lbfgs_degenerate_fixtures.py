#!/usr/bin/python3
"""Writes fixtures/lbfgs-degenerate.json: PyTorch's L-BFGS on degenerate problems, for tsgrad's LBFGS tests.

    /usr/bin/python3 packages/test-utils/scripts/gen_lbfgs_degenerate_fixtures.py    (or: pnpm fixtures)

Each case is a loss of one parameter x (1-D) written as a sum of terms (src/lbfgs-degenerate.ts builds
the same loss from the same list, term by term, in this order):

    square   sum(c * (x - a)^2)      (a may hold NaN: a NaN in the data, so the loss and one gradient are NaN)
    quartic  q * sum(x^4)
    linear   sum(l * x)
    sqrt     s * sum(sqrt(x))        (NaN, loss and gradient, where a step leaves x >= 0)
    relu2    sum(relu(x)^2)          (exactly flat, gradient 0, for x <= 0)
    const    + value                 (1e20 makes the loss flat under rounding while its gradient is not;
                                      NaN a NaN loss with finite gradients)

and runs `steps` calls of torch.optim.LBFGS(step(closure)) with tsgrad's option names, in float64 and in
float32, recording after each step the loss it returned, x, and the state's n_iter and func_evals.
NaN is written as the string "NaN" (JSON has none). PyTorch 1.13's LBFGS is 2.x's (the algorithm and
its Python min/max on NaN are unchanged).
"""
import torch

from fixture_io import snake, special, write_fixture

NAN = float("nan")
SQUARE = {"kind": "square", "c": [1.0, 2.0, 0.5], "a": [0.7, -1.2, 0.4]}
WOLFE = {"lineSearchFn": "strong_wolfe"}

CASES = [
    # The gradient is exactly zero at x0: every step returns after one evaluation, x unchanged
    # (tolerance_grad: max |g| <= tolerance_grad, so 0 stops even with toleranceGrad 0).
    ("zero gradients", {"x0": [0.7, -1.2, 0.4], "terms": [SQUARE]}, [{}, WOLFE]),
    ("zero gradients, toleranceGrad 0", {"x0": [0.7, -1.2, 0.4], "terms": [SQUARE, {"kind": "const", "value": 3.5}]}, [{"toleranceGrad": 0.0}]),
    ("zero parameters and gradients", {"x0": [0.0, 0.0, 0.0], "terms": [{"kind": "square", "c": [1.0, 2.0, 0.5], "a": [0.0, 0.0, 0.0]}, {"kind": "quartic", "q": 0.05}]}, [{}, WOLFE]),
    ("zero parameters", {"x0": [0.0, 0.0, 0.0], "terms": [SQUARE, {"kind": "quartic", "q": 0.05}]}, [{}, WOLFE, {"maxIter": 4, "historySize": 2}]),
    ("one element", {"x0": [1.3], "terms": [{"kind": "square", "c": [1.5], "a": [-0.4]}, {"kind": "quartic", "q": 0.1}]}, [{}, WOLFE]),
    # A NaN in the data: the loss and one gradient element are NaN from the first evaluation. PyTorch's
    # first step length min(1, 1/sum|g|) * lr is Python's min: min(1.0, nan) is 1.0, so only the NaN
    # element of x goes NaN at the first step.
    ("a NaN in the data (NaN loss, one NaN gradient)", {"x0": [0.5, -0.3, 0.8], "terms": [{"kind": "square", "c": [1.0, 2.0, 0.5], "a": [0.7, NAN, 0.4]}, {"kind": "quartic", "q": 0.05}]}, [{"maxIter": 5}, {**WOLFE, "maxIter": 5}]),
    # With strong_wolfe PyTorch fails: the first trial meets the curvature condition, and the bracket of
    # that one point, whose loss is NaN, is read at index 1 (an IndexError).
    ("a NaN loss with finite gradients", {"x0": [0.5, -0.3, 0.8], "terms": [SQUARE, {"kind": "const", "value": NAN}]}, [{"maxIter": 5}, {**WOLFE, "maxIter": 5}]),
    # The first step leaves sqrt's domain: NaN loss and gradients at a trial point.
    ("a NaN at a trial point (sqrt out of its domain)", {"x0": [0.3, 1.0], "terms": [{"kind": "square", "c": [1.0, 1.0], "a": [-2.0, -2.0]}, {"kind": "sqrt", "s": 1.0}]}, [{"maxIter": 5}, {**WOLFE, "maxIter": 5}]),
    # Flat under rounding: 1e20 + l.x is 1e20 at every x, while the gradient is l. The line search
    # sees equal losses (f_new >= f_prev, never f_new > f + c1 t gtd) and a constant derivative.
    ("flat loss, nonzero gradient (1e20 + l.x)", {"x0": [0.2, 0.1], "terms": [{"kind": "linear", "l": [0.5, -1.0]}, {"kind": "const", "value": 1e20}]}, [{}, WOLFE]),
    # Exactly flat for x <= 0: the line search's trials land on the plateau (loss 0, gradient 0).
    ("flat plateau (relu(x)^2)", {"x0": [1.0, 3.0], "terms": [{"kind": "relu2"}]}, [{}, WOLFE]),
]
STEPS = 2


def loss_of(x, terms):
    total = None
    for term in terms:
        kind = term["kind"]
        if kind == "square":
            c, a = torch.tensor(term["c"], dtype=x.dtype), torch.tensor(term["a"], dtype=x.dtype)
            v = (c * (x - a) ** 2).sum()
        elif kind == "quartic":
            v = (x ** 4).sum() * term["q"]
        elif kind == "linear":
            v = (torch.tensor(term["l"], dtype=x.dtype) * x).sum()
        elif kind == "sqrt":
            v = x.sqrt().sum() * term["s"]
        elif kind == "relu2":
            v = (x.relu() ** 2).sum()
        elif kind == "const":
            total = total + term["value"]
            continue
        else:
            raise ValueError(kind)
        total = v if total is None else total + v
    return total


def run(problem, options, dtype):
    x = torch.tensor(problem["x0"], dtype=dtype, requires_grad=True)
    opt = torch.optim.LBFGS([x], **{snake(k): v for k, v in options.items()})

    def closure():
        opt.zero_grad()
        loss = loss_of(x, problem["terms"])
        loss.backward()
        return loss

    steps = []
    for _ in range(STEPS):
        try:
            loss = float(opt.step(closure))
        except IndexError as e:
            # _strong_wolfe's bracket of one point with a NaN loss: low_pos is 1 (NaN <= NaN is
            # False), past its end. Recorded, and the case ends there.
            steps.append({"error": f"IndexError: {e}"})
            break
        st = opt.state[x]
        steps.append({"loss": special(loss), "x": [special(v) for v in x.detach().tolist()], "nIter": st["n_iter"], "funcEvals": st["func_evals"]})
    return steps


def encode(problem):
    def term(t):
        return {k: ([special(v) for v in val] if isinstance(val, list) else special(val)) for k, val in t.items()}

    return {"x0": problem["x0"], "terms": [term(t) for t in problem["terms"]]}


def main():
    cases = []
    for name, problem, option_sets in CASES:
        for options in option_sets:
            cases.append({"name": name, "options": options, "problem": encode(problem), "steps": STEPS,
                          "float64": run(problem, options, torch.float64), "float32": run(problem, options, torch.float32)})
    path = write_fixture("lbfgs-degenerate.json", __file__, {"cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
