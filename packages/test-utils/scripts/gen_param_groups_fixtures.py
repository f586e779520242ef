#!/usr/bin/python3
"""Writes fixtures/param-groups.json: PyTorch training with weight-decay groups, for param-groups tests.

    /usr/bin/python3 packages/test-utils/scripts/gen_param_groups_fixtures.py    (or: pnpm fixtures)

A float64 Linear(4, 8) - BatchNorm1d(8) - ReLU - Linear(8, 3) is trained for 10 steps of SGD
(lr 0.1, momentum 0.9, nesterov) with cross entropy on fixed data. The groups follow the rule
tsgrad's paramGroupsWeightDecay applies by default (and timm's): biases, 1-d parameters and
normalization layers get weight_decay 0, the rest weight_decay 0.1; groups are [no_decay, decay].
Records the initial state dict, the data, every step's loss and the final state dict.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_io import enc, write_fixture

torch.manual_seed(5)
torch.set_default_dtype(torch.float64)


def main():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.normal_(0, 0.1)
    init = {k: enc(v) for k, v in model.state_dict().items()}
    no_decay, decay = [], []
    for name, p in model.named_parameters():
        is_norm = name.startswith("1.")
        (no_decay if is_norm or p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    opt = torch.optim.SGD([{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": 0.1}], lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(16, 4)
    y = torch.randint(0, 3, (16,))
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = {
        "init": init, "x": enc(x), "y": enc(y), "losses": losses,
        "final": {k: enc(v) for k, v in model.state_dict().items()},
        "groups": {"noDecay": [n for n, p in model.named_parameters() if any(p is q for q in no_decay)], "decay": [n for n, p in model.named_parameters() if any(p is q for q in decay)]},
    }
    print("wrote", write_fixture("param-groups.json", __file__, out))


if __name__ == "__main__":
    main()
