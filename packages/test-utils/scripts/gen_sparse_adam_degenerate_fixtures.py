#!/usr/bin/python3
"""Writes fixtures/sparse-adam-degenerate.json: PyTorch's SparseAdam on degenerate sparse gradients.

    /usr/bin/python3 packages/test-utils/scripts/gen_sparse_adam_degenerate_fixtures.py    (or: pnpm fixtures)

An nn.Embedding(rows, width, sparse=True) from `init` (row-major) is looked up at `lookup` each step and
the loss (embedding(lookup) * upstream).sum() is backpropagated, so each looked-up row's gradient is
its `upstream` rows, summed over repeats (PyTorch's sparse gradient lists a repeated row once per
lookup; SparseAdam coalesces it). Each case records, in float64 and in float32, the weight, exp_avg and
exp_avg_sq after every SparseAdam step (flat, row-major; NaN written as the string "NaN").
PyTorch 1.13's SparseAdam is 2.x's (_functional.sparse_adam, the same update in the same order) except
on an empty gradient (every lookup on the padding row), where 1.13 fails and 2.x skips the update
(pytorch#86459): that case is tested against a naive float64 SparseAdam instead (the test checks the
naive one against these fixtures).
"""
import torch

from fixture_io import special, write_fixture

NAN = float("nan")


def rows(n, width, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, width, generator=g, dtype=torch.float64) * scale).tolist()


def nan_at(values, r, c):
    values = [list(row) for row in values]
    values[r][c] = NAN
    return values


W = 3
CASES = [
    # Looked-up rows whose gradient is zero: present in the sparse gradient, so their moments decay
    # and, after a nonzero gradient, they still move (row 3's lookups carry zeros every step; row 1's
    # carry zeros at step 3, after two nonzero steps).
    {"name": "zero gradient rows", "rows": 5, "init": rows(5, W, 1), "options": {"lr": 0.1},
     "steps": [{"lookup": [1, 3], "upstream": [rows(1, W, 11)[0], [0.0] * W]},
               {"lookup": [3, 1, 4], "upstream": [[0.0] * W, rows(1, W, 12)[0], rows(1, W, 13)[0]]},
               {"lookup": [1, 3], "upstream": [[0.0] * W, [0.0] * W]}]},
    # Zero parameters and, at the first step, an all-zero gradient: 0 / (0 + eps) moves nothing.
    {"name": "zero parameters and gradients", "rows": 4, "init": [[0.0] * W] * 4, "options": {"lr": 0.1},
     "steps": [{"lookup": [0, 2], "upstream": [[0.0] * W, [0.0] * W]},
               {"lookup": [2, 3], "upstream": rows(2, W, 21)},
               {"lookup": [0, 3], "upstream": rows(2, W, 22)}]},
    # A NaN in one element of one looked-up row at step 2: that element of the weight and of its
    # moments goes NaN (and stays so), nothing else does; row 0 is looked up twice there, its NaN summed in.
    {"name": "a NaN in a gradient row", "rows": 5, "init": rows(5, W, 3), "options": {"lr": 0.1},
     "steps": [{"lookup": [0, 2], "upstream": rows(2, W, 31)},
               {"lookup": [0, 4, 0], "upstream": nan_at(rows(3, W, 32), 0, 1)},
               {"lookup": [0, 2, 4], "upstream": rows(3, W, 33)}]},
    # Rows looked up more than once in a batch: their gradients are summed before the (non-linear)
    # update, as PyTorch's coalesce does; maximize flips the summed gradient.
    {"name": "a row looked up twice", "rows": 4, "init": rows(4, W, 4), "options": {"lr": 0.05, "betas": [0.8, 0.95]},
     "steps": [{"lookup": [2, 0, 2], "upstream": rows(3, W, 41)},
               {"lookup": [1, 1, 1, 3], "upstream": rows(4, W, 42)},
               {"lookup": [3, 2, 3, 2], "upstream": rows(4, W, 43)}]},
    {"name": "a row looked up twice", "rows": 4, "init": rows(4, W, 4), "options": {"lr": 0.05, "maximize": True},
     "steps": [{"lookup": [2, 0, 2], "upstream": rows(3, W, 41)},
               {"lookup": [1, 1, 1, 3], "upstream": rows(4, W, 42)}]},
    # One row: every lookup is row 0 (duplicates included).
    {"name": "one-row embedding", "rows": 1, "init": rows(1, 4, 5), "options": {"lr": 0.1},
     "steps": [{"lookup": [0], "upstream": rows(1, 4, 51)},
               {"lookup": [0, 0], "upstream": rows(2, 4, 52)},
               {"lookup": [0, 0, 0], "upstream": rows(3, 4, 53)}]},
]


def run(case, dtype):
    init = torch.tensor(case["init"], dtype=dtype)
    emb = torch.nn.Embedding(case["rows"], len(case["init"][0]), sparse=True, _weight=init.clone()).to(dtype)
    opt = torch.optim.SparseAdam(emb.parameters(), **{k: (tuple(v) if isinstance(v, list) else v) for k, v in case["options"].items()})
    out = []
    for s in case["steps"]:
        opt.zero_grad()
        (emb(torch.tensor(s["lookup"])) * torch.tensor(s["upstream"], dtype=dtype)).sum().backward()
        opt.step()
        st = opt.state[emb.weight]
        out.append({k: [special(v) for v in t.detach().reshape(-1).tolist()] for k, t in (("weight", emb.weight), ("expAvg", st["exp_avg"]), ("expAvgSq", st["exp_avg_sq"]))})
    return out


def main():
    cases = []
    for case in CASES:
        steps = [{"lookup": s["lookup"], "upstream": [special(v) for row in s["upstream"] for v in row]} for s in case["steps"]]
        cases.append({"name": case["name"], "options": case["options"], "shape": [case["rows"], len(case["init"][0])],
                      "init": [v for row in case["init"] for v in row], "steps": steps,
                      "float64": run(case, torch.float64), "float32": run(case, torch.float32)})
    path = write_fixture("sparse-adam-degenerate.json", __file__, {"cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
