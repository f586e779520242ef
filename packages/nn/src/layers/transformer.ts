import { freeTemporaries, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';
import { gelu } from '../functional/activations.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Linear } from './linear.js';
import { MultiheadAttention } from './multihead-attention.js';
import { LayerNorm } from './normalization.js';
import { Dropout } from './simple.js';

export interface TransformerEncoderLayerOptions {
  /**
   * Hidden features of the feed-forward block.
   * @defaultValue `2048`
   */
  dimFeedforward?: number;
  /**
   * Dropout in attention, after it, and in the feed-forward block.
   * @defaultValue `0.1`
   */
  dropout?: number;
  /**
   * The feed-forward activation: `'relu'`, `'gelu'` (exact), or a function.
   * @defaultValue `'relu'`
   */
  activation?: 'relu' | 'gelu' | ((x: Tensor) => Tensor);
  /**
   * LayerNorm's eps.
   * @defaultValue `1e-5`
   */
  layerNormEps?: number;
  /**
   * [batch, seq, feature] input; false: [seq, batch, feature].
   * @defaultValue `false`
   */
  batchFirst?: boolean;
  /**
   * Pre-LN (normalize before attention and feed-forward, as GPT-2) instead of post-LN.
   * @defaultValue `false`
   */
  normFirst?: boolean;
  /**
   * Biases in the linear layers, attention and LayerNorms (PyTorch ≥ 2.1).
   * @defaultValue `true`
   */
  bias?: boolean;
}

export interface TransformerEncoderLayerForwardOptions {
  /**
   * The attention mask ([L, L] or [N·nhead, L, L]; bool true = not allowed to attend, or float added).
   * @defaultValue `null`
   */
  srcMask?: Tensor | null;
  /**
   * Which keys are padding, shape [N, L]: bool true = padding, or float added.
   * @defaultValue `null`
   */
  srcKeyPaddingMask?: Tensor | null;
  /**
   * A hint that `srcMask` is causal (requires `srcMask`), passed to MultiheadAttention: without
   * `srcKeyPaddingMask` the mask is then not read and attention runs causal (PyTorch 2.x).
   * @defaultValue `false`
   */
  isCausal?: boolean;
}

const WHO = 'TransformerEncoderLayer';

/**
 * One Transformer encoder block (PyTorch's `nn.TransformerEncoderLayer`): self-attention and a
 * feed-forward block (linear1, activation, dropout, linear2), each with a residual connection and a
 * LayerNorm, after it (post-LN, the default) or before it (`normFirst`, pre-LN). Submodules and
 * state-dict keys are PyTorch's: `self_attn`, `linear1`, `dropout`, `linear2`, `norm1`, `norm2`,
 * `dropout1`, `dropout2`.
 * @example
 * const layer = new TransformerEncoderLayer(64, 4, { dimFeedforward: 128, batchFirst: true, normFirst: true, activation: 'gelu' });
 * layer.forward(randn([2, 10, 64])).shape // [2, 10, 64]
 * layer.forward(x, { srcMask: causal, isCausal: true }) // causal: bool [10, 10], true above the diagonal
 */
export class TransformerEncoderLayer extends Module {
  selfAttn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, opts: TransformerEncoderLayerOptions = {}) {
    super();
    checkOptionKeys(WHO, opts, ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst', 'bias']);
    const { dimFeedforward = 2048, dropout = 0.1, activation = 'relu', layerNormEps = 1e-5, batchFirst = false, normFirst = false, bias = true } = opts;
    this.selfAttn = new MultiheadAttention(dModel, nhead, { dropout, bias, batchFirst });
    this.linear1 = new Linear(dModel, dimFeedforward, { bias });
    this.dropout = new Dropout(dropout);
    this.linear2 = new Linear(dimFeedforward, dModel, { bias });
    this.norm1 = new LayerNorm([dModel], { eps: layerNormEps, bias });
    this.norm2 = new LayerNorm([dModel], { eps: layerNormEps, bias });
    this.dropout1 = new Dropout(dropout);
    this.dropout2 = new Dropout(dropout);
    this.normFirst = normFirst;
    this.activation = activationFn(activation);
  }

  /**
   * The block on `src` ([L, N, E], or [N, L, E] with batchFirst, or [L, E] unbatched).
   * @example
   * layer.forward(x, { srcKeyPaddingMask: pad }) // pad: bool [N, L], true = padding
   */
  override forward(src: Tensor, opts: TransformerEncoderLayerForwardOptions = {}): Tensor {
    checkOptionKeys(`${WHO}.forward`, opts, ['srcMask', 'srcKeyPaddingMask', 'isCausal']);
    expectTensor(src, `${WHO}.forward`);
    const { srcMask = null, srcKeyPaddingMask = null, isCausal = false } = opts;
    const attention = (x: Tensor) =>
      this.dropout1.forward(this.selfAttn.forward(x, x, x, { attnMask: srcMask, keyPaddingMask: srcKeyPaddingMask, needWeights: false, isCausal })[0]);
    const feedForward = (x: Tensor) => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    // Each residual block frees its temporaries when it returns, and the layer the first block's
    // output (the feed-forward's output, the attention's projections...), as Python frees a value no
    // name refers to: inside a scope, a forward pass peaks at what backward reads plus one block's
    // temporaries, not at every activation it made (the graph keeps what its rules read: Node).
    return freeTemporaries(() => {
      const x = this.normFirst
        ? freeTemporaries(() => src.add(attention(this.norm1.forward(src))))
        : freeTemporaries(() => this.norm1.forward(src.add(attention(src))));
      return this.normFirst
        ? freeTemporaries(() => x.add(feedForward(this.norm2.forward(x))))
        : freeTemporaries(() => this.norm2.forward(x.add(feedForward(x))));
    });
  }
}

/** PyTorch's `_get_activation_fn`: 'relu' or 'gelu', or the function itself. */
function activationFn(activation: unknown): (x: Tensor) => Tensor {
  if (activation === 'relu') return (x) => x.relu();
  if (activation === 'gelu') return (x) => gelu(x);
  if (typeof activation === 'function') return activation as (x: Tensor) => Tensor;
  throw new Error(`${WHO}: activation should be relu/gelu, not ${typeof activation === 'string' ? activation : String(activation)}`);
}
