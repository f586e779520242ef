#!/usr/bin/python3
"""Writes fixtures/schedulers.json: PyTorch's lr sequences for tsgrad's scheduler tests.

    /usr/bin/python3 packages/test-utils/scripts/gen_scheduler_fixtures.py    (or: pnpm fixtures)

Each case builds an optimizer with two parameter groups (lr 0.1 and 0.05), the scheduler(s) with
tsgrad's option names (converted to PyTorch's here), and records every group's lr (and momentum or
beta1 where a scheduler cycles it) after construction and after each of STEPS steps.
Lambdas are named; src/... tests hold the same table (LAMBDAS).
"""
import torch
from torch.optim import lr_scheduler as S

from fixture_io import snake, write_fixture

STEPS = 60
LAMBDAS = {"pow095": lambda e: 0.95 ** e, "every3": lambda e: 0.9 if e % 3 == 0 else 1.0}
RENAME = {"TMax": "T_max", "T0": "T_0", "TMult": "T_mult"}


def torch_name(k):
    return RENAME.get(k) or snake(k)


def build(opt, spec):
    kw = {}
    for k, v in spec.get("options", {}).items():
        if k == "lrLambda":
            v = LAMBDAS[v]
        kw[torch_name(k)] = v
    if spec["scheduler"] == "SequentialLR":
        return S.SequentialLR(opt, [build(opt, s) for s in spec["schedulers"]], milestones=spec["milestones"])
    if spec["scheduler"] == "ChainedScheduler":
        return S.ChainedScheduler([build(opt, s) for s in spec["schedulers"]])
    if spec["scheduler"] == "SWALR":
        return torch.optim.swa_utils.SWALR(opt, **kw)
    return getattr(S, spec["scheduler"])(opt, **kw)


def momentum_of(opt, name):
    g = opt.param_groups
    return [x["betas"][0] for x in g] if name == "Adam" else [x["momentum"] for x in g]


CASES = [
    {"scheduler": "LambdaLR", "options": {"lrLambda": "pow095"}},
    {"scheduler": "MultiplicativeLR", "options": {"lrLambda": "every3"}},
    {"scheduler": "StepLR", "options": {"stepSize": 7, "gamma": 0.5}},
    {"scheduler": "MultiStepLR", "options": {"milestones": [5, 12, 12, 30], "gamma": 0.3}},
    {"scheduler": "ConstantLR", "options": {"factor": 0.25, "totalIters": 8}},
    {"scheduler": "LinearLR", "options": {"startFactor": 0.1, "endFactor": 0.9, "totalIters": 12}},
    {"scheduler": "ExponentialLR", "options": {"gamma": 0.93}},
    {"scheduler": "PolynomialLR", "options": {"totalIters": 40, "power": 2.0}},
    {"scheduler": "CosineAnnealingLR", "options": {"TMax": 15, "etaMin": 0.001}},
    {"scheduler": "CosineAnnealingWarmRestarts", "options": {"T0": 7, "TMult": 2, "etaMin": 0.0005}},
    {"scheduler": "CosineAnnealingWarmRestarts", "options": {"T0": 10}},
    {"scheduler": "CyclicLR", "options": {"baseLr": 0.01, "maxLr": 0.1, "stepSizeUp": 5, "stepSizeDown": 8, "mode": "triangular2"}, "momentum": True},
    {"scheduler": "CyclicLR", "options": {"baseLr": [0.01, 0.02], "maxLr": 0.1, "stepSizeUp": 4, "mode": "exp_range", "gamma": 0.97, "cycleMomentum": False}},
    {"scheduler": "OneCycleLR", "options": {"maxLr": 0.2, "totalSteps": 61}, "momentum": True},
    {"scheduler": "OneCycleLR", "options": {"maxLr": [0.2, 0.1], "totalSteps": 61, "threePhase": True, "annealStrategy": "linear"}, "optimizer": "Adam", "momentum": True},
    {"scheduler": "SequentialLR", "schedulers": [{"scheduler": "LinearLR", "options": {"startFactor": 0.1, "totalIters": 5}}, {"scheduler": "CosineAnnealingLR", "options": {"TMax": 30}}], "milestones": [5]},
    {"scheduler": "SequentialLR", "schedulers": [{"scheduler": "ConstantLR", "options": {"factor": 0.5, "totalIters": 3}}, {"scheduler": "ExponentialLR", "options": {"gamma": 0.9}}, {"scheduler": "StepLR", "options": {"stepSize": 4}}], "milestones": [6, 20]},
    {"scheduler": "ChainedScheduler", "schedulers": [{"scheduler": "ConstantLR", "options": {"factor": 0.1, "totalIters": 2}}, {"scheduler": "ExponentialLR", "options": {"gamma": 0.9}}]},
    {"scheduler": "SWALR", "options": {"swaLr": 0.02, "annealEpochs": 7}},
    {"scheduler": "SWALR", "options": {"swaLr": [0.01, 0.2], "annealEpochs": 5, "annealStrategy": "linear"}},
    {"scheduler": "SWALR", "options": {"swaLr": 0.03, "annealEpochs": 0}},
    {"scheduler": "SequentialLR", "schedulers": [{"scheduler": "ExponentialLR", "options": {"gamma": 0.9}}, {"scheduler": "SWALR", "options": {"swaLr": 0.01, "annealEpochs": 4}}], "milestones": [10]},
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "min", "patience": 3, "factor": 0.5, "cooldown": 2, "minLr": 0.004}},
    {"scheduler": "ReduceLROnPlateau", "options": {"mode": "max", "thresholdMode": "abs", "threshold": 0.01, "patience": 2}},
]


def metric(t):
    """A loss that improves, then plateaus with noise-like wiggles (deterministic)."""
    return 1.0 / (1 + t) + 0.02 * ((t * 7) % 5) if t < 25 else 0.1 + 0.001 * ((t * 3) % 4)


def run(case):
    name = case.get("optimizer", "SGD")
    p1 = torch.zeros(2, requires_grad=True)
    p2 = torch.zeros(3, requires_grad=True)
    groups = [{"params": [p1], "lr": 0.1}, {"params": [p2], "lr": 0.05}]
    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9) if name == "SGD" else torch.optim.Adam(groups, lr=0.1)
    sched = build(opt, case)
    lrs = [[g["lr"] for g in opt.param_groups]]
    moms = [momentum_of(opt, name)]
    metrics = []
    for t in range(STEPS):
        opt.step()
        if case["scheduler"] == "ReduceLROnPlateau":
            m = metric(t) if case["options"]["mode"] == "min" else -metric(t)
            metrics.append(m)
            sched.step(m)
        else:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momentum_of(opt, name))
    out = dict(case, optimizer=name, lrs=lrs)
    if case.get("momentum"):
        out["momentums"] = moms
    if metrics:
        out["metrics"] = metrics
    return out


def main():
    out = {"steps": STEPS, "cases": [run(c) for c in CASES]}
    path = write_fixture("schedulers.json", __file__, out)
    print("wrote", path, len(out["cases"]), "cases")


if __name__ == "__main__":
    main()
