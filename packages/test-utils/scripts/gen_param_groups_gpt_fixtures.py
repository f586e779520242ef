#!/usr/bin/python3
"""Writes fixtures/param-groups-gpt.json: nanoGPT's and minGPT's decay groups on a small GPT, and AdamW training in them.

    /usr/bin/python3 packages/test-utils/scripts/gen_param_groups_gpt_fixtures.py    (or: pnpm fixtures)

The model is nanoGPT's (karpathy/nanoGPT model.py: token and position embeddings in a ModuleDict
`transformer`, pre-LN blocks of causal self-attention and a GELU MLP, a final LayerNorm, a head
`lm_head` without bias), small: vocab 11, block 6, 2 layers, 2 heads, 8 dims. "tied" ties the head to
the token embedding as nanoGPT does (`transformer.wte.weight = lm_head.weight`); "untied" is minGPT's.

Groups, by the two recipes' own code, copied from their repositories:
- nanogpt: nanoGPT's configure_optimizers today (p.dim() >= 2 decays), groups [decay, no_decay];
- matmul_weights: minGPT's configure_optimizers (Linear weights decay, biases and LayerNorm/Embedding
  weights do not; each group sorted by name), with nanoGPT's `decay.remove('lm_head.weight')` on the
  tied model (what nanoGPT ran before commit 7fe4a09; minGPT itself has no tied head).
Each group case records the parameter names (named_parameters dedupes the tied weight to its first
name) and nanoGPT's printed counts. Training cases: the tied model in float64, 8 steps of AdamW
(lr 1e-2, betas (0.9, 0.95), weight_decay 0.1) in each recipe's groups on fixed tokens: the
initial state dict, the data, the losses and the final state dict.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture_io import enc, write_fixture

torch.set_default_dtype(torch.float64)

VOCAB, BLOCK, LAYERS, HEADS, EMBD = 11, 6, 2, 2, 8


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(EMBD, 3 * EMBD)
        self.c_proj = nn.Linear(EMBD, EMBD)
        self.register_buffer("bias", torch.tril(torch.ones(BLOCK, BLOCK)).view(1, 1, BLOCK, BLOCK), persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(EMBD, dim=2)
        k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(EMBD, 4 * EMBD)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * EMBD, EMBD)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(EMBD)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(EMBD)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, tied):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(VOCAB, EMBD),
            wpe=nn.Embedding(BLOCK, EMBD),
            h=nn.ModuleList([Block() for _ in range(LAYERS)]),
            ln_f=nn.LayerNorm(EMBD),
        ))
        self.lm_head = nn.Linear(EMBD, VOCAB, bias=False)
        if tied:
            self.transformer.wte.weight = self.lm_head.weight
        with torch.no_grad():  # LayerNorm at 1 and 0 would hide a decayed gain or bias
            for m in self.modules():
                if isinstance(m, nn.LayerNorm):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.1)

    def forward(self, idx):
        T = idx.size(1)
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def nanogpt_groups(model, weight_decay):
    """nanoGPT's configure_optimizers (model.py), verbatim but for the optimizer it returns."""
    param_dict = {pn: p for pn, p in model.named_parameters()}
    param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    return [{"params": decay_params, "weight_decay": weight_decay}, {"params": nodecay_params, "weight_decay": 0.0}]


def mingpt_groups(model, weight_decay, tied):
    """minGPT's configure_optimizers (mingpt/model.py), verbatim; with nanoGPT's removal of the tied head."""
    decay = set()
    no_decay = set()
    whitelist_weight_modules = (torch.nn.Linear, )
    blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
    for mn, m in model.named_modules():
        for pn, p in m.named_parameters():
            fpn = '%s.%s' % (mn, pn) if mn else pn
            if pn.endswith('bias'):
                no_decay.add(fpn)
            elif pn.endswith('weight') and isinstance(m, whitelist_weight_modules):
                decay.add(fpn)
            elif pn.endswith('weight') and isinstance(m, blacklist_weight_modules):
                no_decay.add(fpn)
    if tied:
        decay.remove('lm_head.weight')  # nanoGPT before 7fe4a09
    param_dict = {pn: p for pn, p in model.named_parameters()}
    assert len(decay & no_decay) == 0
    assert len(param_dict.keys() - (decay | no_decay)) == 0
    return [
        {"params": [param_dict[pn] for pn in sorted(list(decay))], "weight_decay": weight_decay},
        {"params": [param_dict[pn] for pn in sorted(list(no_decay))], "weight_decay": 0.0},
    ]


def group_case(model, model_name, recipe):
    groups = nanogpt_groups(model, 0.1) if recipe == "nanogpt" else mingpt_groups(model, 0.1, model_name == "tied")
    name_of = {id(p): n for n, p in model.named_parameters()}
    decay, no_decay = ([name_of[id(p)] for p in g["params"]] for g in groups)
    return {
        "model": model_name, "recipe": recipe, "decay": decay, "noDecay": no_decay,
        # nanoGPT's printout: "num decayed parameter tensors: N, with M parameters"
        "numDecay": [len(groups[0]["params"]), sum(p.numel() for p in groups[0]["params"])],
        "numNoDecay": [len(groups[1]["params"]), sum(p.numel() for p in groups[1]["params"])],
    }


def train_case(recipe):
    torch.manual_seed(23)
    model = GPT(tied=True)
    init = {k: enc(v) for k, v in model.state_dict().items()}
    groups = nanogpt_groups(model, 0.1) if recipe == "nanogpt" else mingpt_groups(model, 0.1, True)
    opt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95))
    x = torch.randint(0, VOCAB, (3, BLOCK))
    y = torch.randint(0, VOCAB, (3, BLOCK))
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = F.cross_entropy(model(x).view(-1, VOCAB), y.view(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"recipe": recipe, "init": init, "x": enc(x), "y": enc(y), "losses": losses, "final": {k: enc(v) for k, v in model.state_dict().items()}}


def main():
    torch.manual_seed(0)
    models = {"tied": GPT(tied=True), "untied": GPT(tied=False)}
    groups = [group_case(m, name, recipe) for name, m in models.items() for recipe in ("nanogpt", "matmul_weights")]
    training = [train_case(recipe) for recipe in ("nanogpt", "matmul_weights")]
    print("wrote", write_fixture("param-groups-gpt.json", __file__, {"groups": groups, "training": training}))


if __name__ == "__main__":
    main()
