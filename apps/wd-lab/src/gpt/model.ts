import { arange, ones, type Tensor } from '@tsgrad/autograd';
import { Embedding, LayerNorm, Linear, Module, ModuleList, functional as F, init, type Parameter } from '@tsgrad/nn';
import type { ParamGroupInput } from '@tsgrad/optim';

/**
 * The sizes of a GPT of nanoGPT's structure (karpathy/nanoGPT's model.py, dropout 0): token and position
 * embeddings, pre-LayerNorm blocks of causal self-attention and a GELU MLP, a final LayerNorm, and a
 * head tied to the token embedding. Attribute names give nanoGPT's state-dict keys
 * (`transformer.h.0.attn.c_attn.weight`), so its checkpoints load. The wd-lab `gpt` command trains it
 * and the parity test (test/gpt-parity.test.ts) checks it against nanoGPT's code run by PyTorch.
 */
export interface GptConfig {
  vocabSize: number;
  /** The longest context (positions of the position embedding). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /**
   * How attention is computed: `sdpa` through `F.scaledDotProductAttention` (nanoGPT's flash path),
   * `masked` through the scores, a causal mask of -inf and a softmax (nanoGPT's manual path).
   */
  attention: 'sdpa' | 'masked';
}

/** Causal self-attention over all heads at once: one projection to q, k and v, one back. */
class CausalSelfAttention extends Module {
  cAttn: Linear;
  cProj: Linear;

  constructor(private readonly config: GptConfig) {
    super();
    if (config.nEmbd % config.nHead !== 0) throw new Error(`GPT: nEmbd (${config.nEmbd}) must be a multiple of nHead (${config.nHead})`);
    this.cAttn = new Linear(config.nEmbd, 3 * config.nEmbd);
    this.cProj = new Linear(config.nEmbd, config.nEmbd);
  }

  override forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape;
    const { nHead } = this.config;
    const qkv = this.cAttn.forward(x);
    // q, k, v = c_attn(x).split(n_embd, dim=2), each to (B, nh, T, hs).
    const [q, k, v] = qkv.split(C, 2).map((h) => h.reshape([B, T, nHead, C / nHead]).transpose(1, 2));
    let y: Tensor;
    if (this.config.attention === 'sdpa') {
      y = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    } else {
      // nanoGPT's manual path: att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf')), bias = tril(ones).
      const att = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(k.shape[3]));
      const future = ones([T, T], { device: x.device }).tril().eq(0);
      y = F.softmax(att.maskedFill(future, -Infinity), -1).matmul(v);
    }
    return this.cProj.forward(y.transpose(1, 2).reshape([B, T, C]));
  }
}

/** Linear, GELU (exact, with erf), Linear: n -> 4n -> n. */
class Mlp extends Module {
  cFc: Linear;
  cProj: Linear;

  constructor(nEmbd: number) {
    super();
    this.cFc = new Linear(nEmbd, 4 * nEmbd);
    this.cProj = new Linear(4 * nEmbd, nEmbd);
  }

  override forward(x: Tensor): Tensor {
    return this.cProj.forward(F.gelu(this.cFc.forward(x)));
  }
}

/** x + attn(ln_1(x)), then x + mlp(ln_2(x)): the pre-LN residual block. */
class Block extends Module {
  static override stateKeys = { ln1: 'ln_1', ln2: 'ln_2' };
  ln1: LayerNorm;
  attn: CausalSelfAttention;
  ln2: LayerNorm;
  mlp: Mlp;

  constructor(config: GptConfig) {
    super();
    this.ln1 = new LayerNorm(config.nEmbd);
    this.attn = new CausalSelfAttention(config);
    this.ln2 = new LayerNorm(config.nEmbd);
    this.mlp = new Mlp(config.nEmbd);
  }

  override forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.ln1.forward(x)));
    return h.add(this.mlp.forward(this.ln2.forward(h)));
  }
}

/** nanoGPT's `transformer` ModuleDict (wte, wpe, h, ln_f) as a class, so every field is typed. */
class Transformer extends Module {
  wte: Embedding;
  wpe: Embedding;
  h: ModuleList;
  lnF: LayerNorm;

  constructor(config: GptConfig) {
    super();
    this.wte = new Embedding(config.vocabSize, config.nEmbd);
    this.wpe = new Embedding(config.blockSize, config.nEmbd);
    this.h = new ModuleList(Array.from({ length: config.nLayer }, () => new Block(config)));
    this.lnF = new LayerNorm(config.nEmbd);
  }
}

/**
 * nanoGPT's GPT. `forward(idx)` gives the logits [B, T, vocab] of int32 tokens [B, T]; `loss(idx,
 * targets)` their mean cross entropy. Weights start as nanoGPT's `_init_weights` draws them: N(0,
 * 0.02) for Linear and Embedding weights, zero biases, N(0, 0.02/√(2·nLayer)) for the residual
 * projections (`c_proj`).
 */
export class GPT extends Module {
  readonly config: GptConfig;
  transformer: Transformer;
  lmHead: Linear;

  constructor(config: GptConfig) {
    super();
    this.config = { ...config };
    this.transformer = new Transformer(config);
    this.lmHead = new Linear(config.nEmbd, config.vocabSize, { bias: false });
    // Weight tying: one Parameter, named `transformer.wte.weight` (the first to hold it), as in PyTorch.
    this.lmHead.weight = this.transformer.wte.weight;
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('bias')) init.zeros_(p);
      else if (p.ndim >= 2) init.normal_(p, 0, name.endsWith('cProj.weight') ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02);
    }
  }

  override forward(idx: Tensor): Tensor {
    const T = idx.shape[1];
    if (T > this.config.blockSize) throw new Error(`GPT: cannot forward a sequence of length ${T}, the block size is only ${this.config.blockSize}`);
    const pos = arange(T, undefined, 1, { dtype: 'int32', device: idx.device });
    let x = this.transformer.wte.forward(idx).add(this.transformer.wpe.forward(pos));
    for (const block of this.transformer.h) x = block.forward(x);
    return this.lmHead.forward(this.transformer.lnF.forward(x));
  }

  /** Mean cross entropy of the next-token logits of `idx` [B, T] against `targets` [B, T]. */
  loss(idx: Tensor, targets: Tensor): Tensor {
    const logits = this.forward(idx);
    return F.crossEntropy(logits.reshape([-1, this.config.vocabSize]), targets.reshape([-1]));
  }
}

/**
 * nanoGPT's two AdamW groups, built by hand as its `configure_optimizers` builds them: every tensor
 * with dim >= 2 (matmul weights and embeddings, the tied head once) decays, the rest (biases,
 * LayerNorm gains) does not. The demo and the parity test use param-groups' `recipe: 'nanogpt'`;
 * this literal port is what the tests check that recipe against.
 */
export function nanoGptGroups(model: Module, weightDecay: number): ParamGroupInput[] {
  // nanoGPT's configure_optimizers: dim >= 2 decays
  const params: Parameter[] = model.parameters().filter((p) => p.requiresGrad);
  return [
    { params: params.filter((p) => p.ndim >= 2), weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ];
}
