import { cat, freeTemporaries, ones, zeros, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys, formatShape, isFloating } from '@tsgrad/tensor';
import { empty } from '../empty.js';
import { attend } from '../functional/attention.js';
import { linear } from '../functional/index.js';
import { constant_, xavierNormal_, xavierUniform_ } from '../init.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { pyFloat, pyRepr } from '../repr.js';
import { Parameter } from '../parameter.js';
import { Linear } from './linear.js';

export interface MultiheadAttentionOptions {
  /**
   * Dropout on the attention weights in training.
   * @defaultValue `0`
   */
  dropout?: number;
  /**
   * Biases of the in- and out-projections.
   * @defaultValue `true`
   */
  bias?: boolean;
  /**
   * Inputs and output as [batch, seq, feature]; false: [seq, batch, feature], PyTorch's default.
   * @defaultValue `false`
   */
  batchFirst?: boolean;
  /**
   * Features of the key; when it or vdim differs from embedDim, q/k/v get separate projection weights.
   * @defaultValue `embedDim`
   */
  kdim?: number;
  /**
   * Features of the value (see kdim).
   * @defaultValue `embedDim`
   */
  vdim?: number;
  /**
   * A learned key and value appended to the sequence (`bias_k`, `bias_v`).
   * @defaultValue `false`
   */
  addBiasKV?: boolean;
  /**
   * A zero key and value appended to the sequence (after the heads are split).
   * @defaultValue `false`
   */
  addZeroAttn?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] ([S] unbatched): bool, true = this key is padding and ignored (PyTorch's MHA convention, the opposite of scaledDotProductAttention's), or float, added to the scores.
   * @defaultValue `null`
   */
  keyPaddingMask?: Tensor | null;
  /**
   * Return the attention weights.
   * @defaultValue `true`
   */
  needWeights?: boolean;
  /**
   * [L, S] or [N·numHeads, L, S]: bool, true = not allowed to attend, or float, added to the scores.
   * @defaultValue `null`
   */
  attnMask?: Tensor | null;
  /**
   * Average the returned weights over the heads: [N, L, S], else [N, numHeads, L, S].
   * @defaultValue `true`
   */
  averageAttnWeights?: boolean;
  /**
   * A hint that `attnMask` is the causal mask (it requires `attnMask`). As PyTorch 2.x's
   * `multi_head_attention_forward`: without `keyPaddingMask` and with `needWeights` false, the hint
   * replaces `attnMask`, which is not read (trusted to be causal), by attention's causal flag, so the
   * fused kernels skip the masked keys instead of adding −∞ to them; otherwise `attnMask` is applied
   * as given. The keys `addBiasKV` and `addZeroAttn` append come last, so the causal flag masks them
   * too, from every query before their position (every query when the key and query lengths before
   * the append are equal), as PyTorch 2.x's `scaled_dot_product_attention(..., is_causal=True)` does
   * there. So with those options the hint changes the result: the appended keys take part where
   * `attnMask` is applied (`needWeights`, or a `keyPaddingMask`) and not where the flag replaces it.
   * @defaultValue `false`
   */
  isCausal?: boolean;
}

const WHO = 'MultiheadAttention';

/**
 * Multi-head attention (PyTorch's `nn.MultiheadAttention`): the query, key and value are projected,
 * split into `numHeads` heads of embedDim / numHeads features, attended (scaled dot product) and
 * projected back. State-dict keys are PyTorch's (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
 * `out_proj.bias`; `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim or vdim differs from
 * embedDim; `bias_k`, `bias_v`), and so is the initialization (Xavier-uniform in-projections, zero
 * biases), so a PyTorch checkpoint loads. `forward` returns [output, weights | null].
 *
 * Bool masks follow PyTorch's MultiheadAttention: true means *masked out*. A query whose every key is
 * masked gets a zero output (PyTorch's SDPA path, `needWeights: false`; PyTorch's weights path,
 * the default, gives NaN there).
 * @example
 * const mha = new MultiheadAttention(64, 8, { batchFirst: true });
 * const x = randn([2, 10, 64]);
 * const [y, w] = mha.forward(x, x, x); // y [2, 10, 64], w [2, 10, 10] (averaged over heads)
 * [...mha.stateDict().keys()]          // ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  declare inProjWeight: Parameter | null;
  declare qProjWeight: Parameter | null;
  declare kProjWeight: Parameter | null;
  declare vProjWeight: Parameter | null;
  declare inProjBias: Parameter | null;
  outProj: Linear;
  declare biasK: Parameter | null;
  declare biasV: Parameter | null;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    checkOptionKeys(WHO, opts, ['dropout', 'bias', 'batchFirst', 'kdim', 'vdim', 'addBiasKV', 'addZeroAttn']);
    if (!Number.isInteger(embedDim) || !Number.isInteger(numHeads) || embedDim <= 0 || numHeads <= 0) {
      throw new Error(`${WHO}: embed_dim and num_heads must be greater than 0, got embed_dim=${embedDim} and num_heads=${numHeads} instead`);
    }
    if (embedDim % numHeads !== 0) throw new Error(`${WHO}: embed_dim must be divisible by num_heads, got embed_dim=${embedDim} and num_heads=${numHeads}`);
    const { dropout = 0, bias = true, batchFirst = false, kdim = embedDim, vdim = embedDim, addBiasKV = false, addZeroAttn = false } = opts;
    for (const [n, v] of [['kdim', kdim], ['vdim', vdim]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${WHO}: ${n} must be a positive integer, got ${v}`);
    }
    if (!(dropout >= 0 && dropout <= 1)) throw new Error(`${WHO}: dropout probability has to be between 0 and 1, but got ${dropout}`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = kdim;
    this.vdim = vdim;
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    this.addZeroAttn = addZeroAttn;
    // PyTorch registers exactly these names, null where absent; its state dict lists them in this order.
    const same = kdim === embedDim && vdim === embedDim;
    this.registerParameter('inProjWeight', same ? new Parameter(empty([3 * embedDim, embedDim])) : null);
    this.registerParameter('qProjWeight', same ? null : new Parameter(empty([embedDim, embedDim])));
    this.registerParameter('kProjWeight', same ? null : new Parameter(empty([embedDim, kdim])));
    this.registerParameter('vProjWeight', same ? null : new Parameter(empty([embedDim, vdim])));
    this.registerParameter('inProjBias', bias ? new Parameter(empty([3 * embedDim])) : null);
    this.outProj = new Linear(embedDim, embedDim, { bias });
    this.registerParameter('biasK', addBiasKV ? new Parameter(empty([1, 1, embedDim])) : null);
    this.registerParameter('biasV', addBiasKV ? new Parameter(empty([1, 1, embedDim])) : null);
    this.resetParameters();
  }

  /**
   * PyTorch's `_reset_parameters`: Xavier-uniform in-projection weights, zero in- and out-projection
   * biases, Xavier-normal `bias_k`/`bias_v` (the out-projection weight keeps Linear's init).
   * @example
   * mha.resetParameters();
   */
  resetParameters(): void {
    for (const w of [this.inProjWeight, this.qProjWeight, this.kProjWeight, this.vProjWeight]) if (w) xavierUniform_(w);
    if (this.inProjBias) {
      constant_(this.inProjBias, 0);
      if (this.outProj.bias) constant_(this.outProj.bias, 0);
    }
    for (const b of [this.biasK, this.biasV]) if (b) xavierNormal_(b);
  }

  /**
   * Attends `query` to `key`/`value`: [L, N, E] ([N, L, E] with batchFirst, [L, E] unbatched) in,
   * [output of the query's shape, weights [N, L, S] (or per head) | null] out.
   * @example
   * const [y] = mha.forward(x, x, x, { keyPaddingMask: pad, needWeights: false }); // pad: bool [N, S], true = padding
   */
  override forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    checkOptionKeys(`${WHO}.forward`, opts, ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights', 'isCausal']);
    const { keyPaddingMask = null, needWeights = true, attnMask = null, averageAttnWeights = true, isCausal = false } = opts;
    for (const [n, t] of [['query', query], ['key', key], ['value', value]] as const) expectTensor(t, `${WHO}.forward (${n})`);
    if (isCausal && attnMask === null) {
      throw new Error(`${WHO}.forward: Need attn_mask if specifying the is_causal hint. You may use the Transformer module method \`generate_square_subsequent_mask\` to create this mask.`);
    }
    const batched = this.checkShapes(query, key, value, keyPaddingMask, attnMask);
    // Seq-first [L, N, E] inside, as PyTorch's functional form.
    const seqFirst = (t: Tensor) => (!batched ? t.unsqueeze(1) : this.batchFirst ? t.transpose(0, 1) : t);
    const [q0, k0, v0] = [seqFirst(query), seqFirst(key), seqFirst(value)];
    const [L, N] = q0.shape;
    const S = k0.shape[0];
    const kpm = keyPaddingMask === null ? null : batched ? keyPaddingMask : keyPaddingMask.unsqueeze(0);
    this.checkMasks(kpm, attnMask, [L, N, S], query);

    // The projections, the heads' copies and the un-averaged weights are freed when it returns (what
    // backward reads stays with the graph's nodes), as Python frees them.
    return freeTemporaries(() => {
      let [q, k, v] = this.inProjection(query === key && key === value, q0, k0, v0);
      const E = this.embedDim;
      // PyTorch 2.x: the hint stands for attnMask where no other mask or the weights need it.
      const causal = isCausal && kpm === null && !needWeights;
      // Masks in attend's form: bool true = take part (PyTorch's MHA bool means the opposite), float added; [.., L, S] against [N, H, L, S].
      let masks: Tensor[] = [];
      if (attnMask !== null && !causal) masks.push(keepForm(attnMask.ndim === 3 ? attnMask.reshape([N, this.numHeads, L, S]) : attnMask));
      if (kpm !== null) masks.push(keepForm(kpm.reshape([N, 1, 1, S])));
      if (this.biasK && this.biasV) {
        k = cat([k, this.biasK.expand([1, N, E])], 0);
        v = cat([v, this.biasV.expand([1, N, E])], 0);
        masks = masks.map(padColumn);
      }
      const heads = (t: Tensor) => t.reshape([t.shape[0], N, this.numHeads, this.headDim]).permute([1, 2, 0, 3]); // [N, H, seq, hd]
      [q, k, v] = [heads(q), heads(k), heads(v)];
      if (this.addZeroAttn) {
        const z = zeros([N, this.numHeads, 1, this.headDim], { dtype: k.dtype, device: k.device });
        [k, v] = [cat([k, z], 2), cat([v, z], 2)];
        masks = masks.map(padColumn);
      }
      const res = attend(q, k, v, { masks, scale: 1 / Math.sqrt(this.headDim), dropoutP: this.training ? this.dropout : 0, generator: null, needWeights, isCausal: causal });
      let out = this.outProj.forward(res.output.permute([2, 0, 1, 3]).reshape([L, N, E]));
      out = !batched ? out.squeeze(1) : this.batchFirst ? out.transpose(0, 1) : out;
      let weights = res.weights;
      if (weights !== null) {
        if (averageAttnWeights) weights = weights.mean(1);
        if (!batched) weights = weights.squeeze(0);
      }
      return [out, weights];
    });
  }

  /**
   * q, k, v projected: self-attention with the packed weight is one matmul against all of
   * in_proj_weight (PyTorch's `_in_projection_packed`), otherwise one per input.
   */
  private inProjection(same: boolean, q: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor, Tensor] {
    const E = this.embedDim;
    if (same && this.inProjWeight) {
      const qkv = linear(q, this.inProjWeight, this.inProjBias);
      return [0, 1, 2].map((i) => qkv.narrow(-1, i * E, E)) as [Tensor, Tensor, Tensor];
    }
    const w = (i: number, own: Parameter | null) => own ?? this.inProjWeight!.narrow(0, i * E, E);
    const b = (i: number) => (this.inProjBias ? this.inProjBias.narrow(0, i * E, E) : null);
    return [linear(q, w(0, this.qProjWeight), b(0)), linear(k, w(1, this.kProjWeight), b(1)), linear(v, w(2, this.vProjWeight), b(2))];
  }

  /** PyTorch's `_mha_shape_check` and the embedding checks of `multi_head_attention_forward`; returns whether the input is batched. */
  private checkShapes(query: Tensor, key: Tensor, value: Tensor, kpm: Tensor | null, attnMask: Tensor | null): boolean {
    const dims = `${key.ndim}-D and ${value.ndim}-D tensors respectively`;
    let batched: boolean;
    if (query.ndim === 3) {
      batched = true;
      if (key.ndim !== 3 || value.ndim !== 3) throw new Error(`${WHO}: For batched (3-D) \`query\`, expected \`key\` and \`value\` to be 3-D but found ${dims}`);
      if (kpm && kpm.ndim !== 2) throw new Error(`${WHO}: For batched (3-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 2-D but found ${kpm.ndim}-D tensor instead`);
      if (attnMask && attnMask.ndim !== 2 && attnMask.ndim !== 3) throw new Error(`${WHO}: For batched (3-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
    } else if (query.ndim === 2) {
      batched = false;
      if (key.ndim !== 2 || value.ndim !== 2) throw new Error(`${WHO}: For unbatched (2-D) \`query\`, expected \`key\` and \`value\` to be 2-D but found ${dims}`);
      if (kpm && kpm.ndim !== 1) throw new Error(`${WHO}: For unbatched (2-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 1-D but found ${kpm.ndim}-D tensor instead`);
      if (attnMask && attnMask.ndim !== 2 && attnMask.ndim !== 3) throw new Error(`${WHO}: For unbatched (2-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
    } else {
      throw new Error(`${WHO}: query should be unbatched 2D or batched 3D tensor but received ${query.ndim}-D query tensor`);
    }
    const E = query.shape[query.ndim - 1];
    if (E !== this.embedDim) throw new Error(`${WHO}: was expecting embedding dimension of ${this.embedDim}, but got ${E} (query of shape ${formatShape(query.shape)})`);
    const kd = key.shape[key.ndim - 1];
    const vd = value.shape[value.ndim - 1];
    if (kd !== this.kdim || vd !== this.vdim) {
      throw new Error(`${WHO}: expected key and value with ${this.kdim} and ${this.vdim} features (kdim, vdim), got key ${formatShape(key.shape)} and value ${formatShape(value.shape)}`);
    }
    if (key.shape.slice(0, -1).join() !== value.shape.slice(0, -1).join()) {
      throw new Error(`${WHO}: key's sequence and batch dims ${formatShape(key.shape.slice(0, -1))} do not match value's ${formatShape(value.shape.slice(0, -1))}`);
    }
    const qBatch = query.ndim === 3 ? query.shape[this.batchFirst ? 0 : 1] : 1;
    const kBatch = key.ndim === 3 ? key.shape[this.batchFirst ? 0 : 1] : 1;
    if (qBatch !== kBatch) throw new Error(`${WHO}: query and key must have the same batch size, got query ${formatShape(query.shape)} and key ${formatShape(key.shape)} (batchFirst ${this.batchFirst})`);
    return batched;
  }

  /** The masks' dtypes and shapes, as `multi_head_attention_forward` checks them ([L, N, S] before bias_k/zero-attention columns). */
  private checkMasks(kpm: Tensor | null, attnMask: Tensor | null, [L, N, S]: number[], query: Tensor): void {
    for (const [name, m] of [['key_padding_mask', kpm], ['attn_mask', attnMask]] as const) {
      if (m && m.dtype !== 'bool' && !isFloating(m.dtype)) throw new Error(`${WHO}: only bool and floating types of ${name} are supported, got ${m.dtype}`);
      if (m && m.device !== query.device) throw new Error(`${WHO}: expected ${name} on the query's device ${query.device}, got ${m.device}`);
    }
    if (attnMask?.ndim === 2 && (attnMask.shape[0] !== L || attnMask.shape[1] !== S)) {
      throw new Error(`${WHO}: The shape of the 2D attn_mask is ${formatShape(attnMask.shape)}, but should be ${formatShape([L, S])}.`);
    }
    if (attnMask?.ndim === 3 && (attnMask.shape[0] !== N * this.numHeads || attnMask.shape[1] !== L || attnMask.shape[2] !== S)) {
      throw new Error(`${WHO}: The shape of the 3D attn_mask is ${formatShape(attnMask.shape)}, but should be ${formatShape([N * this.numHeads, L, S])}.`);
    }
    if (kpm && (kpm.shape[0] !== N || kpm.shape[1] !== S)) throw new Error(`${WHO}: expecting key_padding_mask shape of ${formatShape([N, S])}, but got ${formatShape(kpm.shape)}`);
  }

  /**
   * 'embed_dim=…, num_heads=…, …' in Python's spelling (tsgrad's addition: PyTorch prints only the
   * out-projection, so its repr does not show the head count).
   * @example
   * new MultiheadAttention(64, 8).extraRepr() // 'embed_dim=64, num_heads=8, dropout=0.0, batch_first=False'
   */
  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, dropout=${pyFloat(this.dropout)}, batch_first=${pyRepr(this.batchFirst)}`;
  }
}

/** A PyTorch MHA mask in attend's form: bool "masked out" inverted to "take part"; float as is. */
function keepForm(mask: Tensor): Tensor {
  return mask.dtype === 'bool' ? mask.logicalNot() : mask;
}

/** One more key column that every query may attend to (bias_k, zero attention): PyTorch's `pad(mask, (0, 1))`. */
function padColumn(mask: Tensor): Tensor {
  const shape = [...mask.shape.slice(0, -1), 1];
  const opts = { dtype: mask.dtype, device: mask.device };
  return cat([mask, mask.dtype === 'bool' ? ones(shape, opts) : zeros(shape, opts)], -1);
}
