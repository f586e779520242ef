#!/usr/bin/python3
"""Writes fixtures/half-optim-state.json: state dicts of optimizers over float16 / bfloat16 parameters, as
PyTorch loads and writes them.

    /usr/bin/python3 packages/test-utils/scripts/gen_half_optim_fixtures.py    (or: pnpm fixtures)

Each case: the optimizer and its options (tsgrad's names), the parameters (half), a state dict in
PyTorch's layout whose state tensors are float32 (`loaded`), and torch's `state_dict()` after
`load_state_dict(loaded)`: torch casts floating state to each parameter's dtype, so the state comes back
in half, and `step` stays a float32 0-d tensor. torch 1.13's CPU cannot step Adam on float16
("addcmul_cpu_out" not implemented for 'Half'), so the state is written here rather than stepped; the
steps themselves are tested against the float64 references (optim test/half-params.test.ts).
"""
import torch

from fixture_io import enc, write_fixture

HALF = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def encode_state_dict(sd):
    state = {str(i): {k: (enc(v) if torch.is_tensor(v) else v) for k, v in s.items()} for i, s in sd["state"].items()}
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return {"state": state, "param_groups": groups}


# (name, torch class, tsgrad options, torch options, state keys per parameter)
OPTIMIZERS = [
    ("Adam", torch.optim.Adam, {"lr": 0.01, "amsgrad": True}, {"lr": 0.01, "amsgrad": True}, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    ("SGD", torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9}, ["momentum_buffer"]),
]


def case(name, cls, options, torch_options, keys, dtype):
    gen = torch.Generator().manual_seed(7)
    params = [torch.randn(2, 3, generator=gen).to(HALF[dtype]).requires_grad_(), torch.randn(3, generator=gen).to(HALF[dtype]).requires_grad_()]
    opt = cls(params, **torch_options)
    # float32 state with more bits than half holds: the load must round it.
    state = {}
    for i, p in enumerate(params):
        s = {k: torch.randn(p.shape, generator=gen).abs() * 1e-2 for k in keys}
        if cls is torch.optim.Adam:
            s["step"] = torch.tensor(3.0)
        state[i] = s
    loaded = {"state": state, "param_groups": opt.state_dict()["param_groups"]}
    loaded_copy = {"state": {i: {k: v.clone() for k, v in s.items()} for i, s in state.items()}, "param_groups": loaded["param_groups"]}
    opt.load_state_dict(loaded_copy)
    return {"name": f"{name} {dtype}", "optimizer": name, "options": options, "dtype": dtype, "params": [enc(p) for p in params], "loaded": encode_state_dict(loaded), "state_dict": encode_state_dict(opt.state_dict())}


def main():
    cases = [case(*o, dtype) for o in OPTIMIZERS for dtype in HALF]
    print(write_fixture("half-optim-state.json", __file__, {"cases": cases}))


if __name__ == "__main__":
    main()
