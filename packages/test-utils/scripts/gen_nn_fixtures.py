#!/usr/bin/python3
"""Writes fixtures/nn.json: PyTorch references for tsgrad's layers, losses and state dicts.

    /usr/bin/python3 packages/test-utils/scripts/gen_nn_fixtures.py    (or: pnpm fixtures)

layers:   each case builds a layer (tsgrad's constructor name and arguments, mapped to PyTorch's),
          randomizes its parameters, and records its state dict, the input, the output in the given
          mode, a cotangent v and the gradients of sum(output * v) w.r.t. the input and each parameter
          (keys as in the state dict), plus the buffers after the forward pass.
losses:   functional losses with their options: output and gradient w.r.t. the input.
batchnorm_running: running statistics after several training batches (momentum 0.1, 0.5, None).
nested:   the state-dict keys of a nested model and, after a few PyTorch training steps, its state
          dict and eval output (for load-and-reproduce).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_io import enc, snake, write_fixture

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def build(name, args, opts):
    kw = {snake(k): (tuple(v) if isinstance(v, list) else v) for k, v in opts.items()}
    if name in ("BatchNorm1d", "BatchNorm2d"):
        pass
    if name == "GELU":
        return nn.GELU(**kw)
    if name == "Dropout":
        return nn.Dropout(*args)
    if name == "Flatten":
        return nn.Flatten(*args)
    if name in ("MaxPool2d", "AvgPool2d", "Conv2d"):
        args = [tuple(a) if isinstance(a, list) else a for a in args]
    return getattr(nn, name)(*args, **kw)


def randomize(m):
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if "bias" in name else 1.0))
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.3)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)


LAYERS = [
    ("Linear", [4, 3], {}, [[5, 4]], "train"),
    ("Linear", [4, 3], {"bias": False}, [[2, 3, 4]], "train"),
    ("BatchNorm1d", [3], {}, [[6, 3]], "train"),
    ("BatchNorm1d", [3], {}, [[6, 3]], "eval"),
    ("BatchNorm1d", [3], {}, [[4, 3, 5]], "train"),
    ("BatchNorm1d", [3], {"affine": False}, [[5, 3]], "train"),
    ("BatchNorm1d", [3], {"trackRunningStats": False}, [[5, 3]], "eval"),
    ("BatchNorm2d", [3], {}, [[4, 3, 5, 5]], "train"),
    ("BatchNorm2d", [3], {"momentum": None}, [[2, 3, 4, 4]], "eval"),
    ("LayerNorm", [[5]], {}, [[4, 5]], "train"),
    ("LayerNorm", [[3, 4]], {"elementwiseAffine": False}, [[2, 3, 4]], "train"),
    ("Conv2d", [3, 4, 3], {}, [[2, 3, 6, 6]], "train"),
    ("Conv2d", [3, 4, 3], {"stride": 2, "padding": 1}, [[2, 3, 7, 7]], "train"),
    ("Conv2d", [2, 3, [2, 3]], {"dilation": 2, "bias": False}, [[1, 2, 7, 8]], "train"),
    ("Conv2d", [4, 6, 3], {"groups": 2, "padding": [1, 0]}, [[2, 4, 5, 5]], "train"),
    ("MaxPool2d", [2], {}, [[2, 3, 6, 6]], "train"),
    ("MaxPool2d", [3], {"stride": 2, "padding": 1}, [[1, 2, 7, 7]], "train"),
    ("MaxPool2d", [3], {"stride": 2, "ceilMode": True}, [[1, 2, 8, 8]], "train"),
    ("AvgPool2d", [2], {}, [[2, 3, 6, 6]], "train"),
    ("AvgPool2d", [3], {"stride": 2, "padding": 1}, [[1, 2, 7, 7]], "train"),
    ("AvgPool2d", [3], {"stride": 2, "padding": 1, "countIncludePad": False}, [[1, 2, 7, 7]], "train"),
    ("Embedding", [10, 4], {"paddingIdx": 0}, [["int", [2, 5], 10]], "train"),
    ("ReLU", [], {}, [[3, 4]], "train"),
    ("GELU", [], {}, [[3, 4]], "train"),
    ("GELU", [], {"approximate": "tanh"}, [[3, 4]], "train"),
    ("Sigmoid", [], {}, [[3, 4]], "train"),
    ("Tanh", [], {}, [[3, 4]], "train"),
    ("Flatten", [], {}, [[2, 3, 4]], "train"),
    ("Dropout", [0.3], {}, [[3, 4]], "eval"),
]


def make_input(spec):
    if spec[0] == "int":
        x = torch.randint(0, spec[2], spec[1])
        x[0, 0] = 0  # hit the padding row
        return x
    return torch.randn(spec)


def layer_cases():
    cases = []
    for name, args, opts, input_specs, mode in LAYERS:
        m = build(name, args, opts)
        randomize(m)
        m.train(mode == "train")
        sd = {k: enc(v) for k, v in m.state_dict().items()}
        xs = [make_input(s) for s in input_specs]
        for x in xs:
            if x.is_floating_point():
                x.requires_grad_(True)
        out = m(*xs)
        v = torch.randn_like(out)
        (out * v).sum().backward()
        grads = {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None}
        cases.append({
            "layer": name, "args": args, "options": opts, "mode": mode, "stateDict": sd,
            "inputs": [enc(x) for x in xs], "output": enc(out), "cotangent": enc(v),
            "inputGrads": [enc(x.grad) if x.is_floating_point() else None for x in xs],
            "paramGrads": grads,
            "buffersAfter": {k: enc(b) for k, b in m.state_dict().items() if "running" in k or "num_batches" in k},
        })
    return cases


LOSSES = [
    ("MSELoss", {}, "float", [4, 3]),
    ("MSELoss", {"reduction": "sum"}, "float", [4, 3]),
    ("L1Loss", {"reduction": "none"}, "float", [4, 3]),
    ("CrossEntropyLoss", {}, "index", [5, 4]),
    ("CrossEntropyLoss", {"weight": "w", "reduction": "sum"}, "index", [5, 4]),
    ("CrossEntropyLoss", {"ignoreIndex": 1}, "index", [6, 4]),
    ("CrossEntropyLoss", {"labelSmoothing": 0.1}, "index", [5, 4]),
    ("CrossEntropyLoss", {"labelSmoothing": 0.2, "weight": "w", "ignoreIndex": 2}, "index", [6, 4]),
    ("CrossEntropyLoss", {"reduction": "none", "labelSmoothing": 0.1}, "index", [5, 4]),
    ("CrossEntropyLoss", {}, "index", [3, 4, 2]),
    ("CrossEntropyLoss", {}, "prob", [5, 4]),
    ("CrossEntropyLoss", {"labelSmoothing": 0.1, "weight": "w"}, "prob", [5, 4]),
    ("NLLLoss", {"weight": "w"}, "index", [5, 4]),
    ("BCEWithLogitsLoss", {}, "binary", [4, 3]),
    ("BCEWithLogitsLoss", {"posWeight": "pw", "weight": "bw", "reduction": "sum"}, "binary", [4, 3]),
]


def loss_cases():
    cases = []
    for name, opts, kind, shape in LOSSES:
        x = torch.randn(shape, requires_grad=True)
        C = shape[1] if len(shape) > 1 else shape[0]
        extra = {}
        if kind == "index":
            t = torch.randint(0, C, [shape[0]] + shape[2:])
        elif kind == "prob":
            t = torch.softmax(torch.randn(shape), 1)
        elif kind == "binary":
            t = (torch.rand(shape) > 0.5).double()
        else:
            t = torch.randn(shape)
        kw = {}
        for k, v in opts.items():
            if v == "w":
                v = torch.rand(C) + 0.5
            elif v == "pw":
                v = torch.rand(shape[-1]) + 0.5
            elif v == "bw":
                v = torch.rand(shape) + 0.5
            if isinstance(v, torch.Tensor):
                extra[k] = enc(v)
            kw[snake(k)] = v
        inp = torch.log_softmax(x, 1) if name == "NLLLoss" else x
        out = getattr(nn, name)(**kw)(inp, t)
        v = torch.randn_like(out)
        (out * v).sum().backward()
        cases.append({
            "loss": name, "options": {k: v for k, v in opts.items() if not isinstance(v, str) or k == "reduction"},
            "tensorOptions": extra, "input": enc(x), "target": enc(t), "output": enc(out), "cotangent": enc(v), "inputGrad": enc(x.grad),
        })
    return cases


def running_cases():
    cases = []
    for momentum in [0.1, 0.5, None]:
        bn = nn.BatchNorm1d(3, momentum=momentum)
        batches = [torch.randn(4, 3) * (i + 1) + i for i in range(4)]
        for b in batches:
            bn(b)
        bn.eval()
        probe = torch.randn(5, 3)
        cases.append({"momentum": momentum, "batches": [enc(b) for b in batches], "state": {k: enc(v) for k, v in bn.state_dict().items()}, "probe": enc(probe), "evalOutput": enc(bn(probe))})
    return cases


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x))) + x


class Net(nn.Module):
    """Sequential inside a custom Module with a ModuleList and BatchNorm2d (mirrored in nn tests)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU())
        self.blocks = nn.ModuleList([Block(3), Block(3)])
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(self.pool(x).flatten(1))


def nested_case():
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        x = torch.randn(4, 1, 6, 6)
        y = torch.randint(0, 4, (4,))
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    net.eval()
    probe = torch.randn(2, 1, 6, 6)
    return {"keys": list(net.state_dict().keys()), "stateDict": {k: enc(v) for k, v in net.state_dict().items()}, "probe": enc(probe), "evalOutput": enc(net(probe))}


def main():
    out = {"layers": layer_cases(), "losses": loss_cases(), "batchnormRunning": running_cases(), "nested": nested_case()}
    path = write_fixture("nn.json", __file__, out)
    print("wrote", path, len(out["layers"]), "layers", len(out["losses"]), "losses")


# --- Cases for the layer table (test-utils layerInfos) that nn.json's LAYERS cannot express: containers
# (arguments that are layers or [key, layer] pairs), AveragedModel, and the loss modules (two inputs,
# tensor options); and layers added since (GroupNorm, RMSNorm), appended here with this file's own seed
# because a new case in LAYERS would shift the random draws of every case after it. They go to their own
# file, nn-modules.json, one case per line, each named as its layerInfos row names it.

MODULE_CASES = [
    # (name, layer, args, options, tensor options, input specs, inputs that require grad, mode)
    ("Sequential(Linear, BatchNorm1d, ReLU, Linear) train [5,4]", "Sequential",
     [{"layer": "Linear", "args": [4, 3]}, {"layer": "BatchNorm1d", "args": [3]}, {"layer": "ReLU"}, {"layer": "Linear", "args": [3, 2]}],
     {}, {}, [[5, 4]], [0], "train"),
    ("Sequential(Linear, BatchNorm1d, ReLU, Linear) eval [5,4]", "Sequential",
     [{"layer": "Linear", "args": [4, 3]}, {"layer": "BatchNorm1d", "args": [3]}, {"layer": "ReLU"}, {"layer": "Linear", "args": [3, 2]}],
     {}, {}, [[5, 4]], [0], "eval"),
    ("ModuleList(Linear, LayerNorm)", "ModuleList",
     [[{"layer": "Linear", "args": [4, 3]}, {"layer": "LayerNorm", "args": [[3]]}]], {}, {}, [], [], "train"),
    ("AveragedModel(Linear) train [5,4]", "AveragedModel", [{"layer": "Linear", "args": [4, 3]}], {}, {}, [[5, 4]], [0], "train"),
    ("MSELoss() [4,3] [4,3]", "MSELoss", [], {}, {}, [[4, 3], [4, 3]], [0], "train"),
    ("L1Loss({\"reduction\":\"sum\"}) [4,3] [4,3]", "L1Loss", [], {"reduction": "sum"}, {}, [[4, 3], [4, 3]], [0], "train"),
    ("CrossEntropyLoss({\"labelSmoothing\":0.1}, weight) [5,4] index", "CrossEntropyLoss", [], {"labelSmoothing": 0.1}, {"weight": [4]},
     [[5, 4], ["int", [5], 4]], [0], "train"),
    ("NLLLoss({\"ignoreIndex\":1}, weight) [6,4] index", "NLLLoss", [], {"ignoreIndex": 1}, {"weight": [4]}, [[6, 4], ["int", [6], 4]], [0], "train"),
    ("BCEWithLogitsLoss(posWeight) [4,3] binary", "BCEWithLogitsLoss", [], {}, {"posWeight": [3]}, [[4, 3], ["binary", [4, 3]]], [0], "train"),
    # issue 23's layers. RMSNorm: PyTorch >= 2.4's class when present, else NaiveRMSNorm below.
    ("GroupNorm(2, 4) train [3,4,5]", "GroupNorm", [2, 4], {}, {}, [[3, 4, 5]], [0], "train"),
    ("GroupNorm(3, 6, {\"eps\":0.001}) eval [2,6,2,3]", "GroupNorm", [3, 6], {"eps": 0.001}, {}, [[2, 6, 2, 3]], [0], "eval"),
    ("GroupNorm(1, 3, {\"affine\":false}) train [4,3]", "GroupNorm", [1, 3], {"affine": False}, {}, [[4, 3]], [0], "train"),
    ("RMSNorm([5]) train [4,5]", "RMSNorm", [[5]], {}, {}, [[4, 5]], [0], "train"),
    ("RMSNorm([3,4], {\"eps\":0.01}) train [2,3,4]", "RMSNorm", [[3, 4]], {"eps": 0.01}, {}, [[2, 3, 4]], [0], "train"),
    ("RMSNorm(4, {\"elementwiseAffine\":false}) train [2,3,4]", "RMSNorm", [4], {"elementwiseAffine": False}, {}, [[2, 3, 4]], [0], "train"),
    # Containers have no forward: their rows check keys, order and a strict load. '1' among string
    # keys: insertion order, where JavaScript would list an integer-like key first.
    ("ModuleDict(head: Linear, 1: LayerNorm, emb: Embedding)", "ModuleDict",
     [[["head", {"layer": "Linear", "args": [4, 3]}], ["1", {"layer": "LayerNorm", "args": [[3]]}], ["emb", {"layer": "Embedding", "args": [5, 2]}]]],
     {}, {}, [], [], "train"),
    ("ParameterList([3], [2,2])", "ParameterList", [[{"tensor": [3]}, {"tensor": [2, 2]}]], {}, {}, [], [], "train"),
    ("ParameterDict(scale: [3], proj: [2,2], shift: [3])", "ParameterDict",
     [[["scale", {"tensor": [3]}], ["proj", {"tensor": [2, 2]}], ["shift", {"tensor": [3]}]]], {}, {}, [], [], "train"),
]


class NaiveRMSNorm(nn.Module):
    """PyTorch >= 2.4's nn.RMSNorm written out from its documented formula, for PyTorch 1.13, which has
    none: y = x / sqrt(mean(x^2 over the normalized dims) + eps) * weight, eps None meaning
    torch.finfo(x.dtype).eps. torch's autograd differentiates it, in float64."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x):
        dims = tuple(range(-len(self.normalized_shape), 0))
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        return y if self.weight is None else y * self.weight


def build_module(spec_layer, args, opts):
    """build() with nested layer specs ({"layer", "args", "options"}) as arguments, and AveragedModel."""
    def arg(a):
        if isinstance(a, dict) and "layer" in a:
            return build_module(a["layer"], a.get("args", []), a.get("options", {}))
        if isinstance(a, dict) and "tensor" in a:
            return torch.zeros(a["tensor"])  # a parameter container's element; randomize() fills it
        if isinstance(a, list):
            return [arg(x) for x in a]  # lists of layers, [key, layer] pairs
        return a
    args = [arg(a) for a in args]
    if spec_layer == "AveragedModel":
        return torch.optim.swa_utils.AveragedModel(*args, **{snake(k): v for k, v in opts.items()})
    if spec_layer in ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"):
        return getattr(nn, spec_layer)(*args)
    if spec_layer == "RMSNorm" and not hasattr(nn, "RMSNorm"):
        return NaiveRMSNorm(*args, **{snake(k): v for k, v in opts.items()})
    return build(spec_layer, args, opts)


def module_input(spec):
    if spec[0] == "int":
        return torch.randint(0, spec[2], spec[1])
    if spec[0] == "binary":
        return (torch.rand(spec[1]) > 0.5).double()
    return torch.randn(spec)


def module_cases():
    # Its own seed, so these cases do not depend on how many numbers the cases above draw.
    torch.manual_seed(22)
    cases = []
    for name, layer, args, opts, tensor_opts, input_specs, grad_inputs, mode in MODULE_CASES:
        m = build_module(layer, args, {**opts, **{k: torch.rand(s) + 0.5 for k, s in tensor_opts.items()}})
        randomize(m)
        if layer == "AveragedModel":
            m.n_averaged.fill_(3)
        m.train(mode == "train")
        case = {"name": name, "layer": layer, "args": args, "options": opts, "mode": mode,
                "tensorOptions": {k: enc(getattr(m, snake(k))) for k in tensor_opts},
                "stateDict": {k: enc(v) for k, v in m.state_dict().items()}}
        if input_specs:
            xs = [module_input(s) for s in input_specs]
            for i in grad_inputs:
                xs[i].requires_grad_(True)
            out = m(*xs)
            v = torch.randn_like(out)
            (out * v).sum().backward()
            case.update({
                "inputs": [enc(x) for x in xs], "output": enc(out), "cotangent": enc(v),
                "inputGrads": [enc(x.grad) if i in grad_inputs else None for i, x in enumerate(xs)],
                "paramGrads": {k: enc(p.grad) for k, p in m.named_parameters() if p.grad is not None},
                "buffersAfter": {k: enc(b) for k, b in m.state_dict().items() if "running" in k or "num_batches" in k},
            })
        cases.append(case)
    return cases


class ContainerHolder(nn.Module):
    """A module holding each container of issue 23 beside plain layers (mirrored in nn's containers test)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.blocks = nn.ModuleDict([("attn", nn.Linear(4, 4)), ("ln_f", build_module("RMSNorm", [4], {})), ("0", nn.GroupNorm(2, 4))])
        self.scales = nn.ParameterList([torch.zeros(4), torch.zeros(2, 2)])
        self.extra = nn.ParameterDict([("alpha", torch.zeros(4)), ("1", torch.zeros(3)), ("beta", torch.zeros(1))])
        self.head = nn.Linear(4, 2, bias=False)


def container_checkpoint():
    """A PyTorch checkpoint of ContainerHolder: its keys in order and its randomized state dict."""
    torch.manual_seed(23)
    m = ContainerHolder()
    randomize(m)
    return {"keys": list(m.state_dict().keys()), "stateDict": {k: enc(v) for k, v in m.state_dict().items()}}


def write_module_cases():
    cases = module_cases()
    path = write_fixture("nn-modules.json", __file__, {"cases": cases, "containerCheckpoint": container_checkpoint()})
    print("wrote", path, len(cases), "module cases")


if __name__ == "__main__":
    main()
    write_module_cases()
