/**
 * Scaled dot-product attention (PyTorch 2.x's `F.scaled_dot_product_attention`), composed from
 * matmul, softmax, where and dropout. The validation and the masks are separate from `attend`, the
 * inner computation, which runs the device's fused kernel (FlashAttention-style on WebGPU, WebAssembly
 * SIMD on the CPU) where it can: see `fusedAttend`.
 */
import { autocastOp } from '@tsgrad/autograd';
import { arange, fusedAttention, fusedAttentionAvailable, noGrad, zeros, type Generator, type Tensor } from '@tsgrad/autograd';
import { broadcastShapes, checkOptionKeys, formatShape, isFloating } from '@tsgrad/tensor';
import { dropoutWith } from './activations.js';

export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]: a bool mask says which keys each query may attend to (true = take part, PyTorch 2.x's convention; note that `MultiheadAttention`'s bool masks mean the opposite), a float mask (query's dtype) is added to the scores.
   * @defaultValue `null`
   */
  attnMask?: Tensor | null;
  /**
   * Dropout probability on the attention weights. Applied whenever > 0, as PyTorch's: pass 0 in evaluation.
   * @defaultValue `0`
   */
  dropoutP?: number;
  /**
   * A causal mask (query i attends to keys 0..i, top-left aligned: PyTorch's `tril` of [L, S]); not with `attnMask`.
   * @defaultValue `false`
   */
  isCausal?: boolean;
  /**
   * The factor on q·kᵀ; null: 1/√E, E the query's last dimension.
   * @defaultValue `null`
   */
  scale?: number | null;
  /**
   * Grouped-query attention (PyTorch ≥ 2.5): key and value may have fewer heads (dim −3) than the query, a divisor of its count; each key/value head serves that many consecutive query heads.
   * @defaultValue `false`
   */
  enableGqa?: boolean;
  /**
   * The generator dropout draws its mask from.
   * @defaultValue `null` (the global one, `manualSeed`)
   */
  generator?: Generator | null;
}

const OPTION_KEYS = ['attnMask', 'dropoutP', 'isCausal', 'scale', 'enableGqa', 'generator'];
const WHO = 'scaled_dot_product_attention';

/**
 * softmax(q·kᵀ · scale + mask) · v over the last two dimensions, leading (batch, head) dimensions
 * broadcasting: query [..., L, E], key [..., S, E], value [..., S, Ev] give [..., L, Ev]. PyTorch
 * 2.x's semantics (its documented reference implementation and ATen's math path):
 *
 * - `attnMask` bool (true = take part) or float (added to the scores), broadcast to [..., L, S];
 * - `isCausal`: query i attends to keys j ≤ i; combined with `attnMask` it is an Error, as in PyTorch;
 * - `scale` defaults to 1/√E; `dropoutP` drops attention weights (always, when > 0);
 * - `enableGqa` (PyTorch ≥ 2.5): key/value heads shared by groups of query heads;
 * - a fully masked row (every score −∞) gives zeros and a zero gradient: PyTorch ≥ 2.5's
 *   `_safe_softmax` (earlier versions, and plain softmax, give NaN there).
 *
 * Where the device has fused attention a FlashAttention-style kernel computes it without the [L, S]
 * scores, forward and backward, wherever it applies (float32, no dropout, at most two batch dims, head
 * dims up to the device's limit): on WebGPU (head dims up to 128), and on the CPU while its WebAssembly
 * kernels are loaded (the default in Node and browsers with SIMD; head dims up to 1024), where it runs
 * query blocks against the keys on the SIMD matmul and is several times faster than the composed ops
 * (`pnpm bench`, "attention" rows). Elsewhere (float64, `setCpuKernels({ wasm: false })`, dropout,
 * `needWeights`) it is composed from ops: see `fusedAttend`.
 *
 * PyTorch 1.13 (the fixtures' reference) has no public SDPA: the tests compare against a float64
 * implementation of the documented algorithm, cross-checked with 1.13's private prototype.
 * @example
 * const [q, k, v] = [randn([2, 4, 16, 8]), randn([2, 4, 16, 8]), randn([2, 4, 16, 8])]; // [batch, heads, T, headDim]
 * F.scaledDotProductAttention(q, k, v, { isCausal: true }).shape // [2, 4, 16, 8]
 * F.scaledDotProductAttention(q, k, v, { attnMask: keep }) // keep: bool [16, 16], true = attend
 */
export const scaledDotProductAttention = autocastOp('scaledDotProductAttention', (query: Tensor, key: Tensor, value: Tensor, opts: ScaledDotProductAttentionOptions = {}): Tensor => {
  checkOptionKeys(WHO, opts, OPTION_KEYS);
  const { attnMask = null, dropoutP = 0, isCausal = false, scale = null, enableGqa = false, generator = null } = opts;
  if (enableGqa) [key, value] = groupedHeads(query, key, value);
  checkInputs(query, key, value);
  if (isCausal && attnMask !== null) throw new Error(`${WHO}: Explicit attn_mask should not be set when is_causal=True`);
  const L = query.shape[query.ndim - 2];
  const S = key.shape[key.ndim - 2];
  if (attnMask !== null) checkMask(attnMask, query, [L, S], 'attn_mask');
  const masks = attnMask !== null ? [attnMask] : [];
  return attend(query, key, value, { masks, isCausal, scale: scaleOf(query, scale), dropoutP, generator, needWeights: false }).output;
});

/**
 * Key and value with their heads repeated to the query's count (PyTorch's `repeat_interleave` on dim
 * −3, as ATen's `pre_process_group_query_attention_input`), as expanded views reshaped.
 */
function groupedHeads(q: Tensor, k: Tensor, v: Tensor): [Tensor, Tensor] {
  if (q.ndim < 3 || k.ndim < 3 || v.ndim < 3) {
    throw new Error(`${WHO}: enableGqa needs query, key and value with a heads dimension (-3), got query ${formatShape(q.shape)}, key ${formatShape(k.shape)} and value ${formatShape(v.shape)}`);
  }
  const heads = (t: Tensor) => t.shape[t.ndim - 3];
  const [hq, hk, hv] = [heads(q), heads(k), heads(v)];
  if (hq % hk !== 0 || hq % hv !== 0) {
    throw new Error(`${WHO}: Number of heads in key and value must divide the number of heads in query, got ${hq} query heads, ${hk} key heads and ${hv} value heads`);
  }
  const repeat = (t: Tensor, g: number) => {
    if (g === 1) return t;
    const s = t.shape;
    const n = s.length;
    return t.unsqueeze(n - 2).expand([...s.slice(0, n - 2), g, ...s.slice(n - 2)]).reshape([...s.slice(0, n - 3), s[n - 3] * g, s[n - 2], s[n - 1]]);
  };
  return [repeat(k, hq / hk), repeat(v, hq / hv)];
}

/** What `attend` computes with: masks (bool: true = take part; float: added), the scale, dropout. */
export interface AttendArgs {
  masks: readonly Tensor[];
  scale: number;
  dropoutP: number;
  generator: Generator | null;
  /** Whether the caller reads the weights (MultiheadAttention's needWeights). */
  needWeights: boolean;
  /** A causal mask besides `masks` (key j > query i masked out; top-left aligned), which a fused kernel applies without building it. */
  isCausal?: boolean;
}

/**
 * The inner computation, inputs already checked: weights = safeSoftmax(q·kᵀ · scale, masked),
 * dropped out, output = weights · v. The device's fused kernel runs it where it can (`fusedAttend`);
 * otherwise it is composed from ops (the reference; float64 on the CPU always takes it).
 * @example
 * attend(q, k, v, { masks: [], scale: 1 / Math.sqrt(8), dropoutP: 0, generator: null, needWeights: true }).weights
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, a: AttendArgs): { output: Tensor; weights: Tensor | null } {
  const fused = fusedAttend(q, k, v, a);
  if (fused !== null) return { output: fused, weights: null };
  const masks = a.isCausal ? [...a.masks, causalMask(q.shape[q.ndim - 2], k.shape[k.ndim - 2], q.device)] : a.masks;
  let scores = q.matmul(k.transpose(-2, -1)).mul(a.scale);
  for (const m of masks) scores = m.dtype === 'bool' ? scores.where(m, -Infinity) : scores.add(m);
  let weights = masks.length > 0 ? safeSoftmax(scores) : scores.softmax(-1);
  if (a.dropoutP > 0) weights = dropoutWith(weights, a.dropoutP, a.generator);
  return { output: weights.matmul(v), weights: a.needWeights ? weights : null };
}

/**
 * The fused kernel's form of `attend` (`fusedAttention`: FlashAttention-style on WebGPU, WebAssembly
 * SIMD on the CPU; the [L, S] scores never in memory, the backward recomputing them), or null where it
 * does not apply and the composed path runs: no fused kernel on the device (the CPU without its
 * WebAssembly kernels, or in float64) or head dims past its limit, dropout,
 * the weights asked for, more than one mask (MultiheadAttention's key padding and attention masks
 * together), a float mask that requires grad (the kernel gives the mask none), or more than two
 * batch dims (or a mask adding batch dims the operands lack). A bool mask becomes an additive one
 * (0 / −∞) of its own shape; operands and mask are broadcast to [B, H, ...] as expanded views.
 * One difference from the composed path: without masks, a row whose every score is −∞ (infinite
 * inputs) gives zeros here (PyTorch ≥ 2.5's `_safe_softmax`), NaN there.
 */
function fusedAttend(q: Tensor, k: Tensor, v: Tensor, a: AttendArgs): Tensor | null {
  if (a.dropoutP > 0 || a.needWeights || a.masks.length > 1 || !fusedAttentionAvailable(q, v)) return null;
  const mask = a.masks[0] ?? null;
  if (mask?.requiresGrad) return null;
  const batch = broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
  if (batch.length > 2 || (mask && broadcastShapes(batch, mask.shape.slice(0, -2)).length !== batch.length)) return null;
  const [L, E] = q.shape.slice(-2);
  const [S, Ev] = v.shape.slice(-2);
  const [B, H] = [...[1, 1].slice(batch.length), ...batch];
  const to4 = (t: Tensor, rows: number, cols: number) => {
    const padded = t.ndim < 4 ? t.reshape([...[1, 1, 1, 1].slice(t.ndim), ...t.shape]) : t;
    const shape = [B, H, rows, cols];
    return padded.shape.every((d, i) => d === shape[i]) ? padded : padded.expand(shape);
  };
  let attnMask: Tensor | null = null;
  if (mask) {
    const additive = mask.dtype === 'bool' ? noGrad(() => zeros(mask.shape, { dtype: q.dtype, device: q.device }).where(mask, -Infinity)) : mask;
    attnMask = to4(additive, L, S);
  }
  const out = fusedAttention(to4(q, L, E), to4(k, S, E), to4(v, S, Ev), { scale: a.scale, isCausal: a.isCausal ?? false, attnMask });
  return batch.length === 2 ? out : out.reshape([...batch, L, Ev]);
}

/**
 * softmax over the last dim, with zeros (and a zero gradient) for rows whose every score is −∞:
 * PyTorch's `_safe_softmax` (ATen, since 2.5). Such a row is first replaced by zeros, so its
 * softmax (and that softmax's gradient) holds no NaN for the final `where` to hide. Without masks a
 * row can be all −∞ only through infinite inputs, which `attend` leaves to plain softmax (NaN there,
 * where PyTorch ≥ 2.5 gives 0).
 */
function safeSoftmax(scores: Tensor): Tensor {
  const alive = noGrad(() => scores.max(-1, { keepdim: true }).ne(-Infinity));
  return scores.where(alive, 0).softmax(-1).where(alive, 0);
}

/** Bool [L, S], true where key j ≤ query i: the lower triangle, top-left aligned (PyTorch's `ones(L, S).tril()`). */
export function causalMask(L: number, S: number, device: Tensor['device']): Tensor {
  return noGrad(() => arange(L, undefined, 1, { dtype: 'int32', device }).unsqueeze(1).ge(arange(S, undefined, 1, { dtype: 'int32', device })));
}

/** 1/√E (PyTorch's `calculate_scale`), or the explicit scale. */
export function scaleOf(query: Tensor, scale: number | null): number {
  if (scale === null) return 1 / Math.sqrt(query.shape[query.ndim - 1]);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new Error(`${WHO}: scale must be a finite number or null, got ${String(scale)}`);
  return scale;
}

/** PyTorch's `validate_sdpa_input`, and the shapes the matmuls need, with messages naming the tensors. */
function checkInputs(q: Tensor, k: Tensor, v: Tensor): void {
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) {
    throw new Error(`${WHO}: Expected query, key, and value to have the same dtype, but got query.dtype: ${q.dtype} key.dtype: ${k.dtype} and value.dtype: ${v.dtype} instead.`);
  }
  if (!isFloating(q.dtype)) throw new Error(`${WHO}: expected floating query, key and value, got dtype ${q.dtype}`);
  if (q.device !== k.device || q.device !== v.device) {
    throw new Error(`${WHO}: Expected query, key, and value to have the same device type, but got query.device: ${q.device} key.device: ${k.device} and value.device: ${v.device} instead.`);
  }
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
    throw new Error(`${WHO}: Expected query, key, and value to all be at least 2 dimensional, but got query.dim: ${q.ndim}, key.dim: ${k.ndim} and value.dim: ${v.ndim} instead.`);
  }
  const last = (t: Tensor, i: number) => t.shape[t.ndim - i];
  if (last(q, 1) !== last(k, 1)) {
    throw new Error(`${WHO}: query's last dimension (${last(q, 1)}) must equal key's (${last(k, 1)}), got query ${formatShape(q.shape)} and key ${formatShape(k.shape)}`);
  }
  if (last(k, 2) !== last(v, 2)) {
    throw new Error(`${WHO}: key and value must have the same sequence length (dim -2), got key ${formatShape(k.shape)} and value ${formatShape(v.shape)}`);
  }
  broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), `${WHO}: batch dims of query and key`), v.shape.slice(0, -2), `${WHO}: batch dims of query, key and value`);
}

/** A mask must be bool or the query's dtype, on its device, and broadcast to [..., L, S]. */
export function checkMask(mask: Tensor, query: Tensor, [L, S]: number[], name: string, who = WHO): void {
  if (mask.dtype !== 'bool' && mask.dtype !== query.dtype) {
    throw new Error(`${who}: Expected ${name} dtype to be bool or float or to match query dtype, but got ${name}.dtype: ${mask.dtype} and query.dtype: ${query.dtype} instead.`);
  }
  if (mask.device !== query.device) throw new Error(`${who}: expected ${name} on the query's device ${query.device}, got ${mask.device}`);
  const tail = mask.shape.slice(-2);
  const fits = (d: number | undefined, n: number) => d === undefined || d === 1 || d === n;
  if (!fits(tail.length === 2 ? tail[0] : undefined, L) || !fits(tail[tail.length - 1], S)) {
    throw new Error(`${who}: ${name} of shape ${formatShape(mask.shape)} does not broadcast to the attention scores [..., ${L}, ${S}] (L = ${L} queries, S = ${S} keys)`);
  }
}
