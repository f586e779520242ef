#!/usr/bin/python3
"""Writes fixtures/print.json: PyTorch's repr of tensors and modules, the strings tsgrad's printing matches.

    /usr/bin/python3 packages/test-utils/scripts/gen_print_fixtures.py    (or: pnpm fixtures)

tensors: each case's values (`data`, or `arange`: [start, step] for start + i * step, i < numel, in
  float64 then cast), shape, dtype (tsgrad's name), requires_grad, and repr(tensor): integer mode,
  fixed and scientific mode, NaN/inf, -0, exact ties, rows wrapped at 80 columns, empty tensors,
  and tensors over 1,000 elements (summarized with `...`).
parameters: repr(nn.Parameter(...)), values as for tensors (float32).
modules: repr(module) of layers and containers, by case name (the test builds the same module).
"""
import torch
import torch.nn as nn

from fixture_io import special, write_fixture

torch.manual_seed(0)
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32, "bool": torch.bool}


def tensor_case(name, shape, dtype="float32", data=None, arange=None, requires_grad=False):
    n = 1
    for d in shape:
        n *= d
    if data is None:
        start, step = arange
        values = torch.tensor([start + i * step for i in range(n)], dtype=torch.float64)
    else:
        values = torch.tensor(data, dtype=torch.float64)
    t = values.to(TORCH_DTYPES[dtype]).reshape(shape)
    if requires_grad:
        t.requires_grad_(True)
    case = {"name": name, "shape": shape, "dtype": dtype, "requiresGrad": requires_grad, "repr": repr(t)}
    if data is None:
        case["arange"] = arange
    else:
        # The values as the dtype holds them (float32 rounding done here, once).
        case["data"] = [special(float(v)) if dtype in ("float32", "float64") else int(v) for v in t.detach().reshape(-1).tolist()]
    return case


def randn_data(*shape):
    return torch.randn(*shape).reshape(-1).tolist()


nan, inf = float("nan"), float("inf")
TENSORS = [
    tensor_case("scalar fixed", [], data=[1.5]),
    tensor_case("scalar integer-valued", [], data=[3.0]),
    tensor_case("scalar nan", [], data=[nan]),
    tensor_case("integer mode", [2], data=[1.0, 2.0]),
    tensor_case("fixed mode", [2], data=[1.5, 2.25]),
    tensor_case("negative zero", [2], data=[-0.0, 1.0]),
    tensor_case("nan beside integers", [2], data=[nan, 1.0]),
    tensor_case("nan and infinities", [4], data=[1.5, inf, -inf, nan]),
    tensor_case("only non-finite", [3], data=[nan, inf, -inf]),
    tensor_case("zeros", [2], data=[0.0, 0.0]),
    tensor_case("small values: scientific", [2], data=[1e-5, 1.0]),
    tensor_case("large values: scientific", [2], data=[1e9, 1.0]),
    tensor_case("wide integer range: scientific", [2], data=[1.0, 5000.0]),
    tensor_case("exact ties round to even", [3], data=[0.03125, 0.5, -0.40625]),
    tensor_case("large fixed", [2], data=[123456.789, -0.5]),
    tensor_case("matrix", [3, 4], data=randn_data(3, 4)),
    tensor_case("3-d", [2, 3, 4], data=randn_data(2, 3, 4)),
    tensor_case("4-d", [2, 1, 2, 2], data=randn_data(2, 1, 2, 2)),
    tensor_case("row wrapped at 80 columns", [25], data=randn_data(25)),
    tensor_case("matrix rows wrapped", [2, 12], data=randn_data(2, 12)),
    tensor_case("float64", [2], "float64", data=[1.5, 2.0]),
    tensor_case("float64 many digits", [3], "float64", data=[1 / 3, 2 / 3, -1.0]),
    tensor_case("int32", [2, 2], "int32", data=[1, -2, 30, 4]),
    tensor_case("int32 scalar", [], "int32", data=[7]),
    tensor_case("bool", [3], "bool", data=[1, 0, 1]),
    tensor_case("empty", [0], data=[]),
    tensor_case("empty matrix", [0, 3], data=[]),
    tensor_case("empty int32", [0], "int32", data=[]),
    tensor_case("empty bool 2-d", [2, 0], "bool", data=[]),
    tensor_case("requires grad", [2], data=[1.0, 2.0], requires_grad=True),
    tensor_case("requires grad scalar", [], data=[0.5], requires_grad=True),
    tensor_case("suffixes wrapped past 80 columns", [2, 8], "float64", data=randn_data(2, 8), requires_grad=True),
    tensor_case("1,000 elements: not summarized", [1000], arange=[0.0, 1.0]),
    tensor_case("1,001 elements: summarized", [1001], arange=[0.0, 1.0]),
    tensor_case("summarized vector, fractions", [2000], arange=[-1.0, 0.001]),
    tensor_case("summarized matrix", [40, 40], arange=[0.0, 0.25]),
    tensor_case("summarized 3-d", [11, 11, 11], arange=[0.0, 1.0]),
    tensor_case("summarized, short dims kept", [2, 1000], arange=[0.0, 0.5]),
    tensor_case("summarized, one short dim in the middle", [10, 4, 30], arange=[5.0, -0.125]),
    tensor_case("summarized int32", [1001], "int32", arange=[-500.0, 1.0]),
    tensor_case("summarized float64 scientific", [1200], "float64", arange=[1e-6, 1.0]),
    tensor_case("summarized with requires grad", [1100], arange=[0.0, 0.5], requires_grad=True),
]


class Block(nn.Module):
    """A user-defined module: its class name and children, no extra_repr."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU()


MODULES = {
    "Linear": nn.Linear(3, 4),
    "Linear without bias": nn.Linear(3, 4, bias=False),
    "Conv2d": nn.Conv2d(1, 8, 3),
    "Conv2d with options": nn.Conv2d(4, 16, (3, 5), stride=2, padding=1, dilation=2, groups=2, bias=False),
    "BatchNorm1d": nn.BatchNorm1d(4),
    "BatchNorm2d without affine or momentum": nn.BatchNorm2d(8, eps=1e-3, momentum=None, affine=False),
    "BatchNorm1d without running stats": nn.BatchNorm1d(3, track_running_stats=False),
    "LayerNorm": nn.LayerNorm(4),
    "LayerNorm 2-d without affine": nn.LayerNorm([2, 3], eps=1e-6, elementwise_affine=False),
    "GroupNorm": nn.GroupNorm(2, 4),
    "Embedding": nn.Embedding(10, 3),
    "Embedding with padding_idx": nn.Embedding(10, 3, padding_idx=-1),
    "Dropout": nn.Dropout(),
    "Dropout p=0.1": nn.Dropout(0.1),
    "ReLU": nn.ReLU(),
    "GELU tanh": nn.GELU(approximate="tanh"),
    "Sigmoid": nn.Sigmoid(),
    "Tanh": nn.Tanh(),
    "Flatten": nn.Flatten(),
    "MaxPool2d": nn.MaxPool2d(2),
    "MaxPool2d with options": nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    "AvgPool2d": nn.AvgPool2d(2),
    "MSELoss": nn.MSELoss(),
    "CrossEntropyLoss": nn.CrossEntropyLoss(),
    "Sequential": nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
    "Sequential nested": nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)),
        nn.Flatten(),
        nn.Sequential(nn.Linear(16, 8), nn.Sequential(nn.Dropout(0.25), nn.Linear(8, 2))),
    ),
    "ModuleList": nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.LayerNorm(2)]),
    "ModuleList empty": nn.ModuleList(),
    "ModuleDict": nn.ModuleDict({"encoder": nn.Linear(2, 3), "act": nn.Tanh(), "head": nn.Sequential(nn.Linear(3, 1))}),
    "user-defined module": Block(),
    "empty Sequential": nn.Sequential(),
}

PARAMETERS = [
    {"name": "parameter", "data": [1.0, 2.0], "requiresGrad": True, "repr": repr(nn.Parameter(torch.tensor([1.0, 2.0])))},
    {"name": "frozen parameter", "data": [1.0, 2.0], "requiresGrad": False, "repr": repr(nn.Parameter(torch.tensor([1.0, 2.0]), requires_grad=False))},
    {"name": "summarized parameter", "arange": [0.0, 1.0], "numel": 2000, "requiresGrad": True, "repr": repr(nn.Parameter(torch.arange(2000.0)))},
]

path = write_fixture("print.json", __file__, {
    "tensors": TENSORS,
    "parameters": PARAMETERS,
    "modules": [{"name": k, "repr": repr(m)} for k, m in MODULES.items()],
})
print("wrote", path)
