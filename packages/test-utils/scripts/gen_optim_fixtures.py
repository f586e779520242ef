#!/usr/bin/python3
"""Writes fixtures/optim.json: PyTorch optimizer trajectories for tsgrad's optimizer tests.

    /usr/bin/python3 packages/test-utils/scripts/gen_optim_fixtures.py    (or: pnpm fixtures)

Every case runs STEPS float64 steps of one optimizer with one option set, in a scenario that covers
the optim issue's matrix at once: two parameter groups (the second overrides lr and weight decay),
the learning rate of every group halved before step LR_CHANGE_AT, and parameter p1 with grad None on
every step t where t % 4 == 2 (PyTorch skips it entirely). Gradients are recorded per step so tsgrad
replays exactly the same sequence; the trajectory is every parameter after every step.

Debian's torch is 1.13. tsgrad follows current PyTorch (2.x), so where 1.13 lacks an option the
script applies it exactly as PyTorch 2.x defines it:
  * decoupledWeightDecay (2.x AdamW, NAdam, RAdam; tsgrad extends it to all): p *= 1 - lr * wd on
    each parameter with a gradient, before the step, with the optimizer's own weight_decay at 0;
  * maximize where 1.13 has none (NAdam, RAdam): the gradient is negated before the step;
  * NAdam: 1.13 multiplies mu twice into mu_product_next (fixed in 2.0), so NAdam runs through
    nadam_v2_step below, a line-by-line transcription of 2.x `_single_tensor_nadam` in torch ops.
Cases with "saveAt" also store PyTorch's own state_dict() after that many steps, for resume tests.
Rprop has no weight decay (its second group overrides the lr only); ASGD runs with float64 as the
default dtype, so its eta and mu state are float64 as PyTorch 2 keeps them under that default.
"""
import json

import torch

from fixture_io import enc, snake, write_fixture

STEPS = 20
LR_CHANGE_AT = 10
SHAPES = [[3, 4], [4], [2, 3]]

TORCH = {
    "SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
    "Adagrad": torch.optim.Adagrad, "RMSprop": torch.optim.RMSprop, "Adamax": torch.optim.Adamax,
    "NAdam": torch.optim.NAdam, "RAdam": torch.optim.RAdam, "Adadelta": torch.optim.Adadelta,
    "Rprop": torch.optim.Rprop, "ASGD": torch.optim.ASGD,
}
NATIVE_MAXIMIZE = {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "Adadelta", "Rprop", "ASGD"}
# Optimizers without weight decay (the second group then overrides the lr only).
NO_DECAY = {"Rprop"}
# Options PyTorch takes as tuples.
PAIRS = {"betas", "etas", "stepSizes"}

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weightDecay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01}, {"saveAt": 10}),
    ("SGD", {"lr": 0.1, "weightDecay": 0.9, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "weightDecay": 0.2, "decoupledWeightDecay": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}, {"saveAt": 10}),
    ("Adam", {"lr": 0.01, "weightDecay": 0.1}),
    ("Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "maximize": True, "amsgrad": True, "weightDecay": 0.05}),
    ("Adam", {"lr": 0.01, "weightDecay": 0.1, "decoupledWeightDecay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weightDecay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lrDecay": 0.01, "weightDecay": 0.1, "initialAccumulatorValue": 0.1}, {"saveAt": 10}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-5, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "weightDecay": 0.1, "decoupledWeightDecay": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weightDecay": 0.1}, {"saveAt": 10}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "weightDecay": 0.1, "decoupledWeightDecay": True}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "weightDecay": 0.1, "maximize": True}),
    ("Adamax", {"lr": 0.01, "weightDecay": 0.1, "decoupledWeightDecay": True}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "momentumDecay": 0.008, "weightDecay": 0.1}),
    ("NAdam", {"lr": 0.01, "weightDecay": 0.1, "decoupledWeightDecay": True, "maximize": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "weightDecay": 0.1}),
    ("RAdam", {"lr": 0.01, "weightDecay": 0.1, "decoupledWeightDecay": True, "maximize": True}),
    ("Adadelta", {"lr": 1.0}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weightDecay": 0.1, "maximize": True}),
    ("Adadelta", {"lr": 1.0, "weightDecay": 0.1, "decoupledWeightDecay": True}),
    ("Rprop", {"lr": 0.01}),
    ("Rprop", {"lr": 0.05, "etas": [0.3, 1.5], "stepSizes": [1e-4, 0.1]}, {"saveAt": 10}),
    ("Rprop", {"lr": 0.01, "maximize": True}),
    ("ASGD", {"lr": 0.01}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-3, "alpha": 0.5, "t0": 5, "weightDecay": 0.1}, {"saveAt": 10}),
    ("ASGD", {"lr": 0.05, "t0": 3, "maximize": True, "weightDecay": 0.05, "decoupledWeightDecay": True}),
]


def second_group(name, options):
    """The second group's overrides: another lr and another weight decay (none where there is no decay)."""
    extra = {"lr": options["lr"] * 2}
    if name not in NO_DECAY:
        extra["weightDecay"] = 0.0 if options.get("weightDecay", 0) else 0.05
    return extra


def torch_kwargs(name, options):
    kw = {}
    for k, v in options.items():
        if k == "decoupledWeightDecay":
            continue
        if k == "maximize" and name not in NATIVE_MAXIMIZE:
            continue
        if k == "weightDecay" and options.get("decoupledWeightDecay"):
            v = 0.0
        kw[snake(k)] = tuple(v) if k in PAIRS else v
    return kw


def nadam_v2_step(params, group, state):
    """PyTorch 2.x `_single_tensor_nadam` (with maximize and decoupled_weight_decay), in torch ops."""
    beta1, beta2 = group["betas"]
    lr, wd, eps, psi = group["lr"], group.get("weightDecay", 0.0), group.get("eps", 1e-8), group.get("momentumDecay", 4e-3)
    for p in params:
        if p.grad is None:
            continue
        grad = -p.grad if group.get("maximize") else p.grad
        st = state.setdefault(p, {"step": 0.0, "mu_product": 1.0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)})
        st["step"] += 1
        step = st["step"]
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group.get("decoupledWeightDecay"):
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        mu = beta1 * (1. - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * psi)))
        st["mu_product"] *= mu
        st["exp_avg"].lerp_(grad, 1 - beta1)
        st["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = st["exp_avg_sq"].div(bias_correction2).sqrt().add_(eps)
        mu_product_next = st["mu_product"] * mu_next
        p.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - st["mu_product"])))
        p.addcdiv_(st["exp_avg"], denom, value=(-lr * mu_next) / (1. - mu_product_next))


def encode_state_dict(sd):
    def value(v):
        if isinstance(v, torch.Tensor):
            return v.item() if v.ndim == 0 else {"__tensor__": True, **enc(v)}
        if isinstance(v, tuple):
            return list(v)
        return v
    return {
        "state": {str(k): {kk: value(vv) for kk, vv in s.items()} for k, s in sd["state"].items()},
        "param_groups": [{k: value(v) for k, v in g.items()} for g in sd["param_groups"]],
    }


def run_case(index, name, options, extra):
    torch.manual_seed(1000 + index)
    params = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    init = [p.detach().reshape(-1).tolist() for p in params]
    groups = [dict(options), dict(options, **second_group(name, options))]
    # ASGD keeps eta and mu as 0-d tensors of the default dtype (PyTorch 2: the scalar dtype), so
    # float64 parity needs float64 as the default while it runs.
    torch.set_default_dtype(torch.float64 if name == "ASGD" else torch.float32)
    construction = [dict(g) for g in groups]  # groups[*]["lr"] is halved at LR_CHANGE_AT
    group_params = [params[:2], params[2:]]
    torch_opt = None
    nadam_state = {}
    if name != "NAdam":
        # PyTorch's Adagrad seeds `sum` from the constructor argument, not the group's value (tsgrad uses
        # the group's); both groups share it here, so pass it to the constructor as well.
        ctor = {"initial_accumulator_value": options["initialAccumulatorValue"]} if "initialAccumulatorValue" in options else {}
        torch_opt = TORCH[name]([dict(torch_kwargs(name, g), params=ps) for g, ps in zip(groups, group_params)], **ctor)
    grads, trajectory, saved = [], [], None
    for t in range(STEPS):
        if t == LR_CHANGE_AT:
            for g in groups:
                g["lr"] *= 0.5
            if torch_opt:
                for tg in torch_opt.param_groups:
                    tg["lr"] *= 0.5
        step_grads = []
        for k, p in enumerate(params):
            if k == 1 and t % 4 == 2:
                p.grad = None
                step_grads.append(None)
            else:
                g = torch.randn(p.shape, dtype=torch.float64) * (0.5 + k)
                p.grad = g.clone()
                step_grads.append(g.reshape(-1).tolist())
        grads.append(step_grads)
        with torch.no_grad():
            if name == "NAdam":
                for g, ps in zip(groups, group_params):
                    nadam_v2_step(ps, dict(g, betas=g.get("betas", [0.9, 0.999])), nadam_state)
            else:
                for g, ps in zip(groups, group_params):
                    for p in ps:
                        if p.grad is None:
                            continue
                        if g.get("maximize") and name not in NATIVE_MAXIMIZE:
                            p.grad.neg_()
                        if g.get("decoupledWeightDecay") and g.get("weightDecay", 0):
                            p.mul_(1 - g["lr"] * g["weightDecay"])
                torch_opt.step()
        trajectory.append([p.detach().reshape(-1).tolist() for p in params])
        if extra.get("saveAt") == t + 1:
            saved = encode_state_dict(torch_opt.state_dict())
    case = {
        "name": f"{name} {json.dumps(options, sort_keys=True)}",
        "optimizer": name,
        "groups": [{"params": [0, 1], "options": construction[0]}, {"params": [2], "options": construction[1]}],
        "lrChangeAt": LR_CHANGE_AT,
        "shapes": SHAPES,
        "init": init,
        "grads": grads,
        "trajectory": trajectory,
    }
    if saved is not None:
        case["saveAt"] = extra["saveAt"]
        case["torchStateDict"] = saved
    return case


def main():
    cases = [run_case(i, c[0], c[1], c[2] if len(c) > 2 else {}) for i, c in enumerate(CASES)]
    torch.set_default_dtype(torch.float32)
    path = write_fixture("optim.json", __file__, {"steps": STEPS, "cases": cases})
    print("wrote", path, len(cases), "cases")


if __name__ == "__main__":
    main()
