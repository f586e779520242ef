#!/usr/bin/python3
"""Writes fixtures/grad-scaler-state.json: GradScaler state dicts as PyTorch writes and reads them.

    /usr/bin/python3 packages/test-utils/scripts/gen_grad_scaler_fixtures.py    (or: pnpm fixtures)

torch 1.13 has no CPU GradScaler: torch.cuda.amp.GradScaler disables itself without CUDA, and the
`_amp_update_scale_` / `_amp_foreach_non_finite_check_and_unscale_` kernels raise NotImplementedError on
CPU tensors, so the trajectories are tested against a float64 reference (test-utils
src/grad-scaler-cases.ts). The state dict code (state_dict, load_state_dict, get_scale) is 2.x's
torch.amp.GradScaler's; it touches no device before scale(), so it runs here with CUDA reported
available while the scaler is built. Each case: the constructor's options (tsgrad's names), the dict
loaded into it (tsgrad's, or none), and what torch's state_dict() returns then.
"""
import warnings

import torch

from fixture_io import write_fixture

NAMES = {"initScale": "init_scale", "growthFactor": "growth_factor", "backoffFactor": "backoff_factor", "growthInterval": "growth_interval", "enabled": "enabled"}

CASES = [
    ("defaults", {}, None),
    ("options", {"initScale": 1024.0, "growthFactor": 3.0, "backoffFactor": 0.25, "growthInterval": 7}, None),
    # What tsgrad's scaler of the state-dict test writes after two clean steps with growthInterval 3.
    ("tsgrad's dict loaded", {}, {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3, "_growth_tracker": 2}),
    ("a float32-rounded scale loaded", {"initScale": 8.0}, {"scale": 3.4028234663852886e38, "growth_factor": 1.5, "backoff_factor": 0.125, "growth_interval": 1, "_growth_tracker": 0}),
    ("disabled", {"enabled": False}, None),
]


def scaler(options):
    available = torch.cuda.is_available
    torch.cuda.is_available = lambda: True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.cuda.amp.GradScaler(**{NAMES[k]: v for k, v in options.items()})
    finally:
        torch.cuda.is_available = available


def case(name, options, loaded):
    s = scaler(options)
    if loaded is not None:
        s.load_state_dict(dict(loaded))
    sd = s.state_dict()
    return {"name": name, "options": options, "loaded": loaded, "state_dict": sd, "types": {k: type(v).__name__ for k, v in sd.items()}}


if __name__ == "__main__":
    print(write_fixture("grad-scaler-state.json", __file__, {"cases": [case(*c) for c in CASES]}))
