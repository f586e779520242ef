#!/usr/bin/python3
"""Writes fixtures/utils.json: PyTorch references for tsgrad's training utilities.

    /usr/bin/python3 packages/test-utils/scripts/gen_utils_fixtures.py    (or: pnpm fixtures)

clip_grad_norm: three float64 parameters (one without a gradient), their gradients, and for each
  (max_norm, norm_type) the total norm returned and the gradients after torch.nn.utils.clip_grad_norm_.
clip_grad_value: the gradients after torch.nn.utils.clip_grad_value_.
parameters_to_vector: the flattened vector.
swa: a Linear-BatchNorm1d-ReLU-Linear model at three snapshots (state dicts), and torch.optim.swa_utils'
  AveragedModel state dict after each update_parameters: SWA (default), SWA with use_buffers, and EMA
  (decay 0.9, as PyTorch 2's get_ema_multi_avg_fn: avg + (1 - decay)(p - avg)); then update_bn over
  three batches on the SWA model: its running statistics.
"""
import math

import torch

from fixture_io import PY_NAMES, special, write_fixture

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


def sd(module):
    return {k: {"shape": list(v.shape), "data": v.detach().reshape(-1).double().tolist()} for k, v in module.state_dict().items()}


def swa_fixture():
    from torch.optim.swa_utils import AveragedModel, update_bn
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    snapshots = []
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape) * 0.3)
        model.train()
        model(torch.randn(8, 3))  # moves the BatchNorm buffers
        snapshots.append(sd(model))
    runs = {}
    for name, kw in {"swa": {}, "swa_buffers": {"use_buffers": True}, "ema": {"avg_fn": lambda a, p, n: a + (1 - 0.9) * (p - a)}}.items():
        averaged = AveragedModel(model, **kw)
        states = []
        for snap in snapshots:
            model.load_state_dict({k: torch.tensor(v["data"]).reshape(v["shape"]).to(model.state_dict()[k].dtype) for k, v in snap.items()})
            averaged.update_parameters(model)
            states.append(sd(averaged))
        runs[name] = states
    swa = AveragedModel(model)
    for snap in snapshots:
        model.load_state_dict({k: torch.tensor(v["data"]).reshape(v["shape"]).to(model.state_dict()[k].dtype) for k, v in snap.items()})
        swa.update_parameters(model)
    batches = [torch.randn(6, 3) for _ in range(3)]
    update_bn(batches, swa)
    return {
        "snapshots": snapshots,
        "runs": runs,
        "bn_batches": [b.tolist() for b in batches],
        "after_update_bn": sd(swa),
    }


def main():
    params = params_with_grads()
    out = {
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
            "normType": special(norm_type, PY_NAMES),
            "total": total.item(),
            "grads": flat([p.grad for p in ps]),
        })
    for clip in [0.1, 1.5]:
        ps = params_with_grads()
        torch.nn.utils.clip_grad_value_(ps, clip)
        out["clip_grad_value"].append({"clipValue": clip, "grads": flat([p.grad for p in ps])})
    out["parameters_to_vector"] = torch.nn.utils.parameters_to_vector(params).detach().tolist()
    out["swa"] = swa_fixture()
    print("wrote", write_fixture("utils.json", __file__, out))


if __name__ == "__main__":
    main()
