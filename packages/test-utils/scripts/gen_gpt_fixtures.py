#!/usr/bin/python3
"""Writes fixtures/gpt.json: a nanoGPT-structured GPT trained 30 AdamW steps in float64 (issue 23, "Parity").

    /usr/bin/python3 packages/test-utils/scripts/gen_gpt_fixtures.py    (or: pnpm fixtures)

The model is nanoGPT's model.py (karpathy/nanoGPT, MIT), written out literally below with dropout 0;
the training loop is train.py's: nanoGPT's get_lr (linear warmup, cosine decay to min_lr) set on every
group before each step, clip_grad_norm_(1.0), AdamW in configure_optimizers' two groups (every tensor
with dim >= 2 decays, the rest does not; betas (0.9, 0.95)).

Attention in two variants, as the TypeScript model has them: "masked" is nanoGPT's non-flash path
(scores, masked_fill of the causal mask with -inf, softmax); "sdpa" is nanoGPT's flash path,
F.scaled_dot_product_attention(is_causal=True). torch 1.13 has no scaled_dot_product_attention (it is
PyTorch >= 2.0), so `sdpa` below is its documented reference implementation in float64, the math of
PyTorch 2.x's docs; the script asserts that both variants agree on the first step.

Layout (one line each): `config`; `init`: the starting parameters by named_parameters() name (the tied
head is `transformer.wte.weight`, named once as PyTorch dedupes it); `batches`: the (x, y) token batches
of every step; `cases`: per variant the loss, lr and clip_grad_norm_ total norm of every step;
`final`: per variant and parameter, `<variant>/<name>`, the parameters after the last step.
"""
import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from fixture_io import enc, write_fixture

torch.manual_seed(23)
torch.set_default_dtype(torch.float64)


def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """F.scaled_dot_product_attention (PyTorch >= 2.0) as its documentation defines it (dropout 0)."""
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    attn_bias = torch.zeros(L, S, dtype=query.dtype)
    if is_causal:
        temp_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        attn_bias.masked_fill_(temp_mask.logical_not(), float("-inf"))
    assert attn_mask is None and dropout_p == 0.0
    attn_weight = query @ key.transpose(-2, -1) * scale_factor
    attn_weight += attn_bias
    attn_weight = torch.softmax(attn_weight, dim=-1)
    return attn_weight @ value


# ---- nanoGPT's model.py (dropout 0, so nn.Dropout is the identity) -------------------------------


class LayerNorm(nn.Module):
    """ LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False """

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        # regularization
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # nanoGPT: hasattr(torch.nn.functional, 'scaled_dot_product_attention'); here the variant decides
        self.flash = config.attention == "sdpa"
        if not self.flash:
            # causal mask to ensure that attention is only applied to the left in the input sequence
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                        .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k, v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)

        # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        if self.flash:
            # efficient attention using Flash Attention CUDA kernels (torch 1.13: the reference above)
            y = sdpa(q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            # manual implementation of attention
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side

        # output projection
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu    = nn.GELU()
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x


class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 23
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    dropout: float = 0.0
    bias: bool = True # True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster
    attention: str = "sdpa"


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.dropout),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # with weight tying when using torch.compile() some warnings get generated:
        # "UserWarning: functional_call was passed multiple values for tied weights.
        # This behavior is deprecated and will be an error in future versions"
        # not 100% sure what this is, so far seems to be harmless. TODO investigate
        self.transformer.wte.weight = self.lm_head.weight # https://paperswithcode.com/method/weight-tying

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device) # shape (t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        # if we are given some desired targets also calculate the loss
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        # start with all of the candidate parameters
        param_dict = {pn: p for pn, p in self.named_parameters()}
        # filter out those that do not require grad
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
        # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay},
            {'params': nodecay_params, 'weight_decay': 0.0}
        ]
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == 'cuda'
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        return optimizer


# ---- train.py's schedule and step ---------------------------------------------------------------

TRAIN = dict(max_iters=30, batch_size=4, learning_rate=3e-3, min_lr=3e-4, warmup_iters=5, lr_decay_iters=30,
             weight_decay=0.1, beta1=0.9, beta2=0.95, grad_clip=1.0)


def get_lr(it):
    learning_rate, min_lr = TRAIN["learning_rate"], TRAIN["min_lr"]
    warmup_iters, lr_decay_iters = TRAIN["warmup_iters"], TRAIN["lr_decay_iters"]
    # 1) linear warmup for warmup_iters steps
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    # 2) if it > lr_decay_iters, return min learning rate
    if it > lr_decay_iters:
        return min_lr
    # 3) in between, use cosine decay down to min learning rate
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) # coeff ranges 0..1
    return min_lr + coeff * (learning_rate - min_lr)


def train(model, batches):
    optimizer = model.configure_optimizers(TRAIN["weight_decay"], TRAIN["learning_rate"], (TRAIN["beta1"], TRAIN["beta2"]), "cpu")
    losses, lrs, norms = [], [], []
    model.train()
    for it, (X, Y) in enumerate(batches):
        lr = get_lr(it)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        logits, loss = model(X, Y)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        lrs.append(lr)
        norms.append(norm.item())
    return losses, lrs, norms


config = GPTConfig()
init_model = GPT(config)
init = {n: p.detach().clone() for n, p in init_model.named_parameters()}
# Token batches with some structure to learn: each row counts up from a random start, modulo the
# vocabulary, with a random token in a quarter of the places.
batches = []
for _ in range(TRAIN["max_iters"]):
    start = torch.randint(0, config.vocab_size, (TRAIN["batch_size"], 1))
    seq = (start + torch.arange(config.block_size + 1)) % config.vocab_size
    noise = torch.rand(seq.shape) < 0.25
    seq = torch.where(noise, torch.randint(0, config.vocab_size, seq.shape), seq)
    batches.append((seq[:, :-1].contiguous(), seq[:, 1:].contiguous()))

cases, final, first_losses = [], {}, []
for variant in ["sdpa", "masked"]:
    model = GPT(GPTConfig(attention=variant))
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(init[n])
    losses, lrs, norms = train(model, batches)
    first_losses.append(losses[0])
    cases.append({"variant": variant, "losses": losses, "lrs": lrs, "gradNorms": norms})
    for n, p in model.named_parameters():
        final[f"{variant}/{n}"] = enc(p)
assert abs(first_losses[0] - first_losses[1]) < 1e-14, first_losses

print(write_fixture("gpt.json", __file__, {
    "config": {k: v for k, v in vars(config).items() if k != "attention"},
    "train": TRAIN,
    "init": {n: enc(t) for n, t in init.items()},
    "batches": [{"x": enc(x), "y": enc(y)} for x, y in batches],
    "cases": cases,
    "final": final,
}))
