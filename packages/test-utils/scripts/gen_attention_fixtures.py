#!/usr/bin/python3
"""Writes fixtures/attention.json: references for scaled dot-product attention, MultiheadAttention and
TransformerEncoderLayer (issue 23).

    /usr/bin/python3 packages/test-utils/scripts/gen_attention_fixtures.py    (or: pnpm fixtures)

sdpa:     F.scaled_dot_product_attention is PyTorch >= 2.0; under 1.13 the reference is `sdpa_ref`, its
          documented algorithm in float64 with ATen's `_safe_softmax` (>= 2.5: a fully masked row gives
          0), differentiated by torch. Where 1.13's private prototype F._scaled_dot_product_attention
          applies (default scale, no fully masked row), the script asserts that it agrees.
mha:      nn.MultiheadAttention (torch 1.13): outputs, weights, input and parameter gradients of
          sum(out * v) + sum(weights * w), for seq-first and batch-first input, kdim/vdim, no bias,
          bias_k/bias_v, zero attention, and each kind of mask (bool: True = masked out; float: added).
          No row is fully masked (1.13 gives NaN there; tsgrad gives 0, tested against sdpa_ref).
encoder:  nn.TransformerEncoderLayer (eval mode or dropout 0), post-LN and pre-LN, ReLU and GELU, with
          masks; `bias: False` (PyTorch >= 2.1) is built from 1.13's parts without biases.
layers:   the layer table's cases (test-utils layerInfos), named as its rows name them.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_io import enc, snake, special, write_fixture

torch.manual_seed(23)
torch.set_default_dtype(torch.float64)
NEG_INF = float("-inf")


def enc_mask(t):
    """enc() for a mask: a float mask may hold -inf, which JSON spells as a string."""
    e = enc(t)
    return {**e, "data": [special(x) for x in e["data"]]}


def sdpa_ref(q, k, v, attn_mask=None, is_causal=False, scale=None, enable_gqa=False):
    """PyTorch 2.x's documented reference, with ATen's _safe_softmax (a row of -inf scores gives 0
    and a zero gradient: it is zeroed before the softmax so no NaN reaches the backward)."""
    if enable_gqa:
        k = k.repeat_interleave(q.size(-3) // k.size(-3), -3)
        v = v.repeat_interleave(q.size(-3) // v.size(-3), -3)
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * s
    if is_causal:
        scores = scores.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), NEG_INF)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, NEG_INF) if attn_mask.dtype == torch.bool else scores + attn_mask
    dead = (scores == NEG_INF).all(-1, keepdim=True)
    w = torch.softmax(torch.where(dead, torch.zeros_like(scores), scores), -1)
    w = torch.where(dead, torch.zeros_like(w), w)
    return w @ v


# (name, q shape, k shape, v shape, mask, isCausal, scale or "gqa": enable_gqa); mask: None, ("bool"|"float", shape), or ("dead", shape): a bool mask with fully masked rows.
SDPA = [
    ("plain [2,3,4,8]", [2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], None, False, None),
    ("3-D, scale 0.3", [2, 5, 4], [2, 7, 4], [2, 7, 3], None, False, 0.3),
    ("2-D unbatched", [4, 6], [5, 6], [5, 2], None, False, None),
    ("causal L = S", [2, 2, 5, 4], [2, 2, 5, 4], [2, 2, 5, 4], None, True, None),
    ("causal L < S (top-left)", [1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 3], None, True, None),
    ("bool mask [L,S] over batch and heads", [2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], ("bool", [4, 6]), False, None),
    ("bool mask [B,1,1,S] (key padding)", [2, 3, 4, 8], [2, 3, 6, 8], [2, 3, 6, 5], ("bool", [2, 1, 1, 6]), False, None),
    ("float mask [B,H,L,S] with -inf", [2, 2, 4, 4], [2, 2, 5, 4], [2, 2, 5, 4], ("float", [2, 2, 4, 5]), False, None),
    ("float mask [L,S], scale 0.5", [3, 4, 4], [3, 6, 4], [3, 6, 2], ("float", [4, 6]), False, 0.5),
    ("broadcast batch: q [2,1,4,4], k v [3,5,4]", [2, 1, 4, 4], [3, 5, 4], [3, 5, 3], ("bool", [1, 5]), False, None),
    ("fully masked rows give 0", [2, 2, 4, 4], [2, 2, 5, 4], [2, 2, 5, 3], ("dead", [2, 1, 4, 5]), False, None),
    ("grouped-query (enableGqa), causal", [2, 4, 3, 4], [2, 2, 5, 4], [2, 2, 5, 3], None, True, "gqa"),
    ("grouped-query (enableGqa), one key head, bool mask", [1, 3, 4, 4], [1, 1, 6, 4], [1, 1, 6, 2], ("bool", [4, 6]), False, "gqa"),
]


def make_mask(kind, shape):
    if kind == "float":
        m = torch.randn(shape) * 0.5
        m[torch.rand(shape) < 0.3] = NEG_INF
        m[..., 0] = 0.0  # every row keeps a finite score
        return m
    m = torch.rand(shape) > 0.35
    m[..., 0] = True
    if kind == "dead":
        m[..., 1, :] = False  # query 1 attends to nothing
    return m


def sdpa_cases():
    cases = []
    for name, qs, ks, vs, mask, is_causal, scale in SDPA:
        gqa = scale == "gqa"  # PyTorch >= 2.5's enable_gqa, with the default scale
        scale = None if gqa else scale
        q, k, v = (torch.randn(s).requires_grad_(True) for s in (qs, ks, vs))
        m = make_mask(*mask) if mask else None
        out = sdpa_ref(q, k, v, m, is_causal, scale, gqa)
        if scale is None and not gqa and (mask is None or mask[0] != "dead") and q.dim() >= 3 and q.shape[:-2] == k.shape[:-2]:
            proto, _ = F._scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=is_causal)
            assert torch.allclose(proto, out, rtol=1e-12, atol=1e-12), name
        cot = torch.randn_like(out)
        gq, gk, gv = torch.autograd.grad((out * cot).sum(), (q, k, v))
        assert all(torch.isfinite(g).all() for g in (out, gq, gk, gv)), name
        cases.append({
            "name": name, "query": enc(q), "key": enc(k), "value": enc(v), "attnMask": enc_mask(m) if m is not None else None,
            "isCausal": is_causal, "scale": scale, "enableGqa": gqa, "output": enc(out), "cotangent": enc(cot),
            "grads": [enc(gq), enc(gk), enc(gv)],
        })
    return cases


def randomize(m):
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * 0.5)


# (name, args, options, input shapes [q, k, v], forward options: keyPaddingMask / attnMask kinds, needWeights, averageAttnWeights)
MHA = [
    ("seq-first, no masks", [8, 2], {}, [[5, 3, 8], [4, 3, 8], [4, 3, 8]], {}),
    ("batch-first self-attention, bool key padding", [8, 4], {"batchFirst": True}, "self [3,5,8]", {"keyPaddingMask": "bool"}),
    ("float key padding, per-head weights", [6, 3], {}, [[4, 2, 6], [5, 2, 6], [5, 2, 6]], {"keyPaddingMask": "float", "averageAttnWeights": False}),
    ("bool 2-D attn mask", [8, 2], {"batchFirst": True}, [[2, 4, 8], [2, 6, 8], [2, 6, 8]], {"attnMask": "bool2"}),
    ("float 3-D attn mask and bool key padding", [8, 2], {}, [[4, 2, 8], [5, 2, 8], [5, 2, 8]], {"attnMask": "float3", "keyPaddingMask": "bool"}),
    ("bool 3-D attn mask, needWeights false", [4, 2], {"batchFirst": True}, [[2, 3, 4], [2, 4, 4], [2, 4, 4]], {"attnMask": "bool3", "needWeights": False}),
    ("kdim and vdim, no bias", [6, 2], {"kdim": 4, "vdim": 5, "bias": False, "batchFirst": True}, [[2, 3, 6], [2, 4, 4], [2, 4, 5]], {"keyPaddingMask": "bool"}),
    ("bias_k, bias_v and zero attention with masks", [8, 2], {"addBiasKV": True, "addZeroAttn": True}, [[3, 2, 8], [4, 2, 8], [4, 2, 8]], {"attnMask": "float2", "keyPaddingMask": "bool"}),
    ("unbatched with masks", [6, 3], {}, [[4, 6], [5, 6], [5, 6]], {"attnMask": "bool3", "keyPaddingMask": "bool"}),
]


def mha_mask(kind, shape):
    """A PyTorch MHA mask: bool True = masked out, float added; the first key is never masked."""
    if kind == "bool":
        m = torch.rand(shape) < 0.35
        m[..., 0] = False
        return m
    m = torch.randn(shape) * 0.5
    m[torch.rand(shape) < 0.3] = NEG_INF
    m[..., 0] = 0.0
    return m


def build_mha(args, opts):
    # addBiasKV: PyTorch's add_bias_kv ("KV" is one word, which snake() would split).
    return nn.MultiheadAttention(*args, **{("add_bias_kv" if k == "addBiasKV" else snake(k)): v for k, v in opts.items()})


def mha_forward_inputs(args, opts, shapes, fwd):
    """Inputs (requiring grad) and the forward's masks of a case."""
    if isinstance(shapes, str):  # "self [N,L,E]": query, key and value are one tensor
        x = torch.randn([int(d) for d in shapes[6:-1].split(",")]).requires_grad_(True)
        xs = [x]
        q = k = v = x
    else:
        xs = [torch.randn(s).requires_grad_(True) for s in shapes]
        q, k, v = xs
    batched = q.dim() == 3
    bf = opts.get("batchFirst", False) and batched
    L = q.shape[1 if bf else 0]
    S = k.shape[1 if bf else 0]
    N = (q.shape[0] if bf else q.shape[1]) if batched else None
    masks = {}
    if "keyPaddingMask" in fwd:
        masks["keyPaddingMask"] = mha_mask(fwd["keyPaddingMask"], [N, S] if batched else [S])
    if "attnMask" in fwd:
        kind = fwd["attnMask"]
        shape = [L, S] if kind.endswith("2") else [(N or 1) * args[1], L, S]
        masks["attnMask"] = mha_mask(kind[:-1], shape)
    return xs, (q, k, v), masks


def mha_cases():
    cases = []
    for name, args, opts, shapes, fwd in MHA:
        m = build_mha(args, opts)
        randomize(m)
        xs, (q, k, v), masks = mha_forward_inputs(args, opts, shapes, fwd)
        need = fwd.get("needWeights", True)
        avg = fwd.get("averageAttnWeights", True)
        out, w = m(q, k, v, key_padding_mask=masks.get("keyPaddingMask"), attn_mask=masks.get("attnMask"), need_weights=need, average_attn_weights=avg)
        cot = torch.randn_like(out)
        loss = (out * cot).sum()
        wcot = None
        if w is not None:
            wcot = torch.randn_like(w)
            loss = loss + (w * wcot).sum()
        loss.backward()
        assert torch.isfinite(out).all(), name
        cases.append({
            "name": name, "args": args, "options": opts, "selfAttention": isinstance(shapes, str),
            "forward": {k2: v2 for k2, v2 in fwd.items() if k2 in ("needWeights", "averageAttnWeights")},
            "masks": {k2: enc_mask(t) for k2, t in masks.items()},
            "stateDict": {k2: enc(t) for k2, t in m.state_dict().items()},
            "inputs": [enc(x) for x in xs], "output": enc(out), "weights": enc(w) if w is not None else None,
            "cotangent": enc(cot), "weightsCotangent": enc(wcot) if wcot is not None else None,
            "inputGrads": [enc(x.grad) for x in xs],
            "paramGrads": {k2: enc(p.grad) for k2, p in m.named_parameters()},
        })
    return cases


def build_encoder(args, opts):
    kw = {snake(k): v for k, v in opts.items() if k != "bias"}
    layer = nn.TransformerEncoderLayer(*args, **kw)
    if opts.get("bias", True) is False:
        # PyTorch >= 2.1's bias=False, from 1.13's parts: bias-free linears and attention, LayerNorms without bias.
        d, ff = args[0], opts.get("dimFeedforward", 2048)
        layer.self_attn = nn.MultiheadAttention(d, args[1], dropout=opts.get("dropout", 0.1), bias=False, batch_first=opts.get("batchFirst", False))
        layer.linear1 = nn.Linear(d, ff, bias=False)
        layer.linear2 = nn.Linear(ff, d, bias=False)
        for norm in (layer.norm1, layer.norm2):
            norm.register_parameter("bias", None)
    return layer


# (name, args, options, mode, input shape, forward options: srcMask / srcKeyPaddingMask kinds)
ENCODER = [
    ("post-LN relu, seq-first", [8, 2], {"dimFeedforward": 16, "dropout": 0.0}, "train", [5, 3, 8], {}),
    ("pre-LN gelu, batch-first, masks", [8, 4], {"dimFeedforward": 12, "activation": "gelu", "normFirst": True, "batchFirst": True}, "eval", [2, 5, 8],
     {"srcMask": "bool2", "srcKeyPaddingMask": "bool"}),
    ("post-LN, float src mask, layerNormEps", [6, 2], {"dimFeedforward": 10, "dropout": 0.0, "layerNormEps": 1e-3}, "train", [4, 2, 6], {"srcMask": "float2"}),
    ("pre-LN without biases", [8, 2], {"dimFeedforward": 16, "dropout": 0.0, "normFirst": True, "bias": False, "batchFirst": True}, "train", [2, 4, 8],
     {"srcKeyPaddingMask": "bool"}),
]


def encoder_cases():
    cases = []
    for name, args, opts, mode, shape, fwd in ENCODER:
        m = build_encoder(args, opts)
        randomize(m)
        m.train(mode == "train")
        x = torch.randn(shape).requires_grad_(True)
        bf = opts.get("batchFirst", False)
        L, N = (shape[1], shape[0]) if bf else (shape[0], shape[1])
        masks = {}
        if "srcMask" in fwd:
            masks["srcMask"] = mha_mask(fwd["srcMask"][:-1], [L, L])
        if "srcKeyPaddingMask" in fwd:
            masks["srcKeyPaddingMask"] = mha_mask(fwd["srcKeyPaddingMask"], [N, L])
        out = m(x, src_mask=masks.get("srcMask"), src_key_padding_mask=masks.get("srcKeyPaddingMask"))
        cot = torch.randn_like(out)
        (out * cot).sum().backward()
        cases.append({
            "name": name, "args": args, "options": opts, "mode": mode, "masks": {k: enc_mask(t) for k, t in masks.items()},
            "stateDict": {k: enc(t) for k, t in m.state_dict().items()}, "input": enc(x), "output": enc(out), "cotangent": enc(cot),
            "inputGrad": enc(x.grad), "paramGrads": {k: enc(p.grad) for k, p in m.named_parameters()},
        })
    return cases


# The layer table's rows (test-utils layerInfos): (name, layer, args, options, input shapes, mode).
LAYERS = [
    ("MultiheadAttention(8, 2) train [5,3,8] [4,3,8] [4,3,8]", "MultiheadAttention", [8, 2], {}, [[5, 3, 8], [4, 3, 8], [4, 3, 8]], "train"),
    ("MultiheadAttention(6, 3, {\"batchFirst\":true,\"kdim\":4,\"vdim\":5}) eval [2,5,6] [2,4,4] [2,4,5]", "MultiheadAttention", [6, 3],
     {"batchFirst": True, "kdim": 4, "vdim": 5}, [[2, 5, 6], [2, 4, 4], [2, 4, 5]], "eval"),
    ("TransformerEncoderLayer(8, 2, {\"dimFeedforward\":16,\"dropout\":0}) train [5,3,8]", "TransformerEncoderLayer", [8, 2],
     {"dimFeedforward": 16, "dropout": 0}, [[5, 3, 8]], "train"),
    ("TransformerEncoderLayer(8, 2, {\"dimFeedforward\":12,\"activation\":\"gelu\",\"normFirst\":true,\"batchFirst\":true}) eval [3,5,8]",
     "TransformerEncoderLayer", [8, 2], {"dimFeedforward": 12, "activation": "gelu", "normFirst": True, "batchFirst": True}, [[3, 5, 8]], "eval"),
]


def layer_cases():
    cases = []
    for name, layer, args, opts, shapes, mode in LAYERS:
        m = build_mha(args, opts) if layer == "MultiheadAttention" else build_encoder(args, opts)
        randomize(m)
        m.train(mode == "train")
        xs = [torch.randn(s).requires_grad_(True) for s in shapes]
        out = m(*xs)
        if isinstance(out, tuple):
            out = out[0]  # MultiheadAttention's (output, weights): the table checks the output
        cot = torch.randn_like(out)
        (out * cot).sum().backward()
        cases.append({
            "name": name, "layer": layer, "args": args, "options": opts, "mode": mode, "tensorOptions": {},
            "stateDict": {k: enc(t) for k, t in m.state_dict().items()},
            "inputs": [enc(x) for x in xs], "output": enc(out), "cotangent": enc(cot),
            "inputGrads": [enc(x.grad) for x in xs],
            "paramGrads": {k: enc(p.grad) for k, p in m.named_parameters()}, "buffersAfter": {},
        })
    return cases


if __name__ == "__main__":
    body = {"sdpa": sdpa_cases(), "mha": mha_cases(), "encoder": encoder_cases(), "layers": layer_cases()}
    path = write_fixture("attention.json", __file__, body)
    print("wrote", path, {k: len(v) for k, v in body.items()})
