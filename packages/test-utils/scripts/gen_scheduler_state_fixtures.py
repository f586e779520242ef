#!/usr/bin/python3
"""Writes fixtures/scheduler-states.json: PyTorch schedulers' state_dict() mid-run, and the lrs after it.

    /usr/bin/python3 packages/test-utils/scripts/gen_scheduler_state_fixtures.py    (or: pnpm fixtures)

Each case runs a scheduler over two parameter groups (lr 0.1 and 0.05) for `save_at` steps, records
its state_dict() and the groups' lrs, then records the lrs after each of the next STEPS steps. The
test loads the state dict into a fresh tsgrad scheduler and must continue with the same lrs: a
resume from PyTorch's own state. One case per line. Infinities (ReduceLROnPlateau's `best` at the
start, `mode_worse`) are written as the strings "Infinity" / "-Infinity" (JSON has no infinity).
Scheduler options and lambdas are gen_scheduler_fixtures.py's (tsgrad's option names).
"""
import torch

from fixture_io import special, write_fixture
from gen_scheduler_fixtures import LAMBDAS, build, metric

STEPS = 30

CASES = [
    # Saved mid-cooldown, and saved with bad epochs counted: the state a resume used to forget.
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "min", "patience": 3, "factor": 0.5, "cooldown": 2, "minLr": 0.004}, "save_at": 30},
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "min", "patience": 3, "factor": 0.5, "cooldown": 2, "minLr": 0.004}, "save_at": 31},
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "max", "thresholdMode": "abs", "threshold": 0.01, "patience": 2}, "save_at": 29},
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "min", "patience": 1, "cooldown": 1, "minLr": [0.001, 0.02]}, "save_at": 29},
    # Before any step: best is +Infinity.
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "min", "patience": 2}, "save_at": 0},
    {"scheduler": "LambdaLR", "options": {"lrLambda": "pow095"}, "save_at": 9},
    {"scheduler": "MultiplicativeLR", "options": {"lrLambda": "every3"}, "save_at": 10},
]


def encode(v):
    """JSON-safe: infinities as strings, tuples as lists."""
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {k: encode(x) for k, x in v.items()}
    return special(v)


def run(case):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1}, {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.05}]
    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    sched = build(opt, case)
    plateau = case["scheduler"] == "ReduceLROnPlateau"
    sign = -1 if case["options"].get("mode") == "max" else 1
    metrics = [sign * metric(t) for t in range(case["save_at"] + STEPS)] if plateau else None

    def step(t):
        opt.step()
        if plateau:
            sched.step(metrics[t])
        else:
            sched.step()

    for t in range(case["save_at"]):
        step(t)
    state = encode(sched.state_dict())
    lrs_at_save = [g["lr"] for g in opt.param_groups]
    lrs = []
    for t in range(case["save_at"], case["save_at"] + STEPS):
        step(t)
        lrs.append([g["lr"] for g in opt.param_groups])
    out = dict(case, state_dict=state, lrs_at_save=lrs_at_save, lrs=lrs)
    if plateau:
        out["metrics"] = metrics
    return out


def main():
    assert set(LAMBDAS) >= {"pow095", "every3"}
    cases = [run(c) for c in CASES]
    assert any(c["state_dict"].get("num_bad_epochs", 0) > 0 for c in cases), "no case saves with bad epochs counted"
    assert any(c["state_dict"].get("cooldown_counter", 0) > 0 for c in cases), "no case saves mid-cooldown"
    path = write_fixture("scheduler-states.json", __file__, {"steps": STEPS, "cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
