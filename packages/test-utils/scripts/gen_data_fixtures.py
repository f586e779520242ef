#!/usr/bin/python3
"""Writes fixtures/data.json: PyTorch references for tsgrad's data loading and model summary.

    /usr/bin/python3 packages/test-utils/scripts/gen_data_fixtures.py    (or: pnpm fixtures)

loaders: for n samples (x = arange(n), y = 10 * arange(n)) and each batch_size / drop_last, len(loader)
  and the batches of an unshuffled DataLoader(TensorDataset(x, y)) as lists of x values.
splits: len(dataset) and `lengths` (counts or fractions): the sizes of random_split's subsets, or
  PyTorch's error message.
errors: DataLoader's and TensorDataset's messages for bad arguments.
summaries: per model (the test builds the same one), for every module of named_modules() its
  parameter elements (recursive), trainable ones, own ones, buffer elements and the output shape of
  a forward on zeros(input_shape) in eval mode; and the totals.
"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

from fixture_io import write_fixture

torch.manual_seed(0)


def loader_case(n, batch_size, drop_last):
    ds = TensorDataset(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32) * 10)
    dl = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = [xb.tolist() for xb, yb in dl]
    for xb, yb in dl:
        assert (yb == xb * 10).all()
    return {"n": n, "batchSize": batch_size, "dropLast": drop_last, "length": len(dl), "batches": batches}


def split_case(n, lengths):
    ds = TensorDataset(torch.arange(n))
    try:
        sizes = [len(s) for s in random_split(ds, lengths, generator=torch.Generator().manual_seed(0))]
        return {"n": n, "lengths": lengths, "sizes": sizes}
    except ValueError as e:
        return {"n": n, "lengths": lengths, "error": str(e)}


def error(fn):
    try:
        fn()
    except (ValueError, AssertionError, TypeError) as e:
        return str(e)
    raise RuntimeError("no error")


LOADERS = [loader_case(n, b, d) for n, b, d in [(10, 3, False), (10, 3, True), (10, 5, False), (10, 5, True), (7, 10, False), (7, 10, True), (1, 1, False), (0, 4, False), (12, 4, True)]]
SPLITS = [split_case(n, l) for n, l in [
    (10, [7, 3]), (10, [0.8, 0.2]), (10, [0.5, 0.5]), (11, [0.8, 0.2]), (7, [1 / 3, 1 / 3, 1 / 3]),
    (5, [0.1, 0.1, 0.8]), (100, [0.7, 0.2, 0.1]), (3, [0.3, 0.3, 0.4]), (10, [5, 6]), (10, [0.5, 0.6]),
    (10, [1.2, -0.2]), (10, [0.4, 0.4]),
]]
ds = TensorDataset(torch.zeros(4))
ERRORS = {
    "batchSize 0": error(lambda: DataLoader(ds, batch_size=0)),
    "batchSize -1": error(lambda: DataLoader(ds, batch_size=-1)),
    "dropLast 1": error(lambda: DataLoader(ds, batch_size=2, drop_last=1)),
    "TensorDataset size mismatch": error(lambda: TensorDataset(torch.zeros(3), torch.zeros(4))),
}


class TwoTowers(nn.Module):
    """Shared weights (one Linear used twice), a frozen embedding, a buffer-holding norm."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.embed.weight.requires_grad_(False)
        self.shared = nn.Linear(8, 8)
        self.tower = nn.Sequential(self.shared, nn.ReLU(), self.shared)
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3, bias=False)

    def forward(self, idx):
        return self.head(self.norm(self.tower(self.embed(idx))))


def mlp():
    m = nn.Sequential(nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))
    for p in m[0].parameters():
        p.requires_grad_(False)
    return m


MODELS = {
    "mlp with a frozen first layer": (mlp(), [2, 784]),
    "cnn": (nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)), [2, 1, 28, 28]),
    "nested with LayerNorm": (nn.Sequential(nn.Linear(16, 32), nn.Sequential(nn.LayerNorm(32), nn.GELU(), nn.Dropout(0.1)), nn.Linear(32, 4)), [3, 16]),
    "shared weights, frozen embedding": (TwoTowers(), None),
}


def summary_case(name, model, input_shape):
    model.eval()
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: shapes.__setitem__(k, list(o.shape))) for k, m in model.named_modules()]
    if input_shape is not None:
        with torch.no_grad():
            model(torch.zeros(input_shape))
    for h in hooks:
        h.remove()
    rows = []
    for k, m in model.named_modules():
        params = list(m.parameters())
        rows.append({
            "name": k, "type": type(m).__name__,
            "params": sum(p.numel() for p in params),
            "trainableParams": sum(p.numel() for p in params if p.requires_grad),
            "ownParams": sum(p.numel() for p in m.parameters(recurse=False)),
            "buffers": sum(b.numel() for b in m.buffers()),
            "outputShape": shapes.get(k) if input_shape is not None else None,
        })
    params = list(model.parameters())
    return {
        "name": name, "inputShape": input_shape, "rows": rows,
        "totalParams": sum(p.numel() for p in params),
        "trainableParams": sum(p.numel() for p in params if p.requires_grad),
        "nonTrainableParams": sum(p.numel() for p in params if not p.requires_grad),
        "totalBuffers": sum(b.numel() for b in model.buffers()),
    }


path = write_fixture("data.json", __file__, {
    "loaders": LOADERS,
    "splits": SPLITS,
    "errors": ERRORS,
    "summaries": [summary_case(k, m, s) for k, (m, s) in MODELS.items()],
})
print("wrote", path)
