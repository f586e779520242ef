#!/usr/bin/python3
"""Writes fixtures/modules.json: how PyTorch walks and saves module trees (one case per line).

    /usr/bin/python3 packages/test-utils/scripts/gen_module_fixtures.py    (or: pnpm fixtures)

Each case builds a model, randomizes its parameters and buffers, and records what nn.Module reports:
the state dict as [key, tensor] pairs in order (a module held under two names is listed under both),
the names of named_modules, named_children, named_parameters and named_buffers (deduplicated with
PyTorch's memo), and, where the model has a forward, a probe input and its eval output.

shared_sequential:        nn.Sequential(l, l) with l = nn.Linear(3, 2) (no forward: 2 -> 3 does not chain).
shared_sequential_square: nn.Sequential(l, l) with l = nn.Linear(3, 3): the forward applies l twice.
shared_attributes:        one block held as `block` and `again`, and inside `wrap` one level down.
pytorch_names:            attributes tsgrad's camelCase rule must keep or can only reach through
                          static stateKeys: `W`, `QKV`, `ln_1`, `in_proj_weight`, `running_mean`.
"""
import torch
import torch.nn as nn

from fixture_io import enc, write_fixture

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def randomize(m):
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(torch.randn_like(p))
        for name, b in m.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)
            else:
                b.copy_(torch.randn_like(b) * 0.3)


def record(name, model, probe=None):
    randomize(model)
    model.eval()
    case = {
        "name": name,
        "stateDict": [[k, enc(v)] for k, v in model.state_dict().items()],
        "namedModules": [n for n, _ in model.named_modules()],
        "namedChildren": [n for n, _ in model.named_children()],
        "namedParameters": [n for n, _ in model.named_parameters()],
        "namedBuffers": [n for n, _ in model.named_buffers()],
    }
    if probe is not None:
        with torch.no_grad():
            case["probe"] = enc(probe)
            case["evalOutput"] = enc(model(probe))
    return case


class SharedAttributes(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
        self.head = nn.Linear(3, 2)
        self.again = self.block
        self.wrap = nn.Sequential(self.block, nn.ReLU())

    def forward(self, x):
        return self.head(self.wrap(self.again(self.block(x))))


class PytorchNames(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.empty(2, 3))
        self.QKV = nn.Linear(3, 9)
        self.ln_1 = nn.LayerNorm(3)
        self.in_proj_weight = nn.Parameter(torch.empty(3))
        self.register_buffer("running_mean", torch.empty(2))

    def forward(self, x):
        q = self.QKV(self.ln_1(x)).reshape(-1, 3, 3).sum(1)
        return q @ self.W.t() + (x * self.in_proj_weight).sum(-1, keepdim=True) - self.running_mean


def cases():
    l = nn.Linear(3, 2)
    yield record("shared_sequential", nn.Sequential(l, l))
    sq = nn.Linear(3, 3)
    yield record("shared_sequential_square", nn.Sequential(sq, sq), torch.randn(4, 3))
    yield record("shared_attributes", SharedAttributes(), torch.randn(5, 3))
    yield record("pytorch_names", PytorchNames(), torch.randn(4, 3))


def main():
    rows = list(cases())
    print("wrote", write_fixture("modules.json", __file__, {"cases": rows}), len(rows), "cases")


if __name__ == "__main__":
    main()
