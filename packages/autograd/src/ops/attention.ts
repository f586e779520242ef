import { checkOptionKeys, getBackend, formatShape, type AttentionInputs } from '@tsgrad/tensor';
import { apply, fromStorage, type PrimitiveAttrs } from '../primitives.js';
import type { Tensor } from '../tensor.js';

/** The fused attention's options: the factor on q·kᵀ, a causal mask, an additive float mask. */
export interface FusedAttentionOptions {
  /**
   * The factor on q·kᵀ.
   * @defaultValue required (`F.scaledDotProductAttention` passes 1/√E by default)
   */
  scale: number;
  /**
   * Mask out key j > query i.
   * @defaultValue `false`
   */
  isCausal?: boolean;
  /**
   * Additive, the query's dtype, [B, H, L, S] (views with stride 0 broadcast); −∞ masks a score out.
   * @defaultValue `null` (no mask)
   */
  attnMask?: Tensor | null;
}

/**
 * Whether `fusedAttention` runs on this device for these head dims: the backend has the fused
 * kernels and the dims are within its limit, float32. WebGPU has them; the CPU while its WebAssembly
 * kernels are loaded (not after `setCpuKernels({ wasm: false })`). In float64 the composed path
 * (`F.scaledDotProductAttention`) stays the reference.
 * @example
 * fusedAttentionAvailable(q, v) // true for float32 webgpu tensors with head dims up to 128, and float32 cpu ones up to 1024
 */
export function fusedAttentionAvailable(query: Tensor, value: Tensor): boolean {
  const backend = getBackend(query.device);
  const max = backend.capabilities.fusedAttentionMaxHeadDim;
  return (
    typeof backend.attention === 'function' &&
    typeof backend.attentionBackward === 'function' &&
    max !== undefined &&
    query.dtype === 'float32' &&
    query.shape[query.ndim - 1] <= max &&
    value.shape[value.ndim - 1] <= max
  );
}

/**
 * softmax(q·kᵀ·scale + mask)·v in one fused kernel (FlashAttention-style; the backend's `attention`),
 * differentiable in query, key and value (the backward recomputes the weights: `attentionBackward`).
 * Operands are 4-D of one batch and head shape: query [B, H, L, E], key [B, H, S, E], value
 * [B, H, S, Ev]; broadcast ones as expanded views. A row with every score masked out gives zeros. The
 * mask gets no gradient. `F.scaledDotProductAttention` calls this where `fusedAttentionAvailable`.
 * @example
 * const out = fusedAttention(q, k, v, { scale: 1 / 8, isCausal: true }); // webgpu q, k, v [2, 4, 128, 64]
 */
export function fusedAttention(query: Tensor, key: Tensor, value: Tensor, opts: FusedAttentionOptions): Tensor {
  checkOptionKeys('fusedAttention', opts, ['scale', 'isCausal', 'attnMask']);
  const { scale, isCausal = false, attnMask = null } = opts;
  if (!fusedAttentionAvailable(query, value)) {
    throw new Error(`fusedAttention: no fused attention on ${query.device} for a ${query.dtype} query ${formatShape(query.shape)} and value ${formatShape(value.shape)}; use F.scaledDotProductAttention`);
  }
  if (attnMask?.requiresGrad) throw new Error('fusedAttention: attnMask gets no gradient here; detach it or use F.scaledDotProductAttention');
  const attrs: PrimitiveAttrs['attention'] = { scale, isCausal, saved: { logsumexp: null } };
  const inputs = attnMask ? [query, key, value, attnMask] : [query, key, value];
  const out = apply('attention', inputs, attrs);
  // Only a backward reads the logsumexp.
  if (out.gradFn === null) attrs.saved.logsumexp?.dispose();
  return out;
}

/** The inputs as the backend's views. */
export function attentionInputs([query, key, value, mask]: readonly Tensor[]): AttentionInputs {
  return { query: query.toView(), key: key.toView(), value: value.toView(), mask: mask ? mask.toView() : null };
}

/** The primitive's forward: the output, and the logsumexp saved in `attrs` for the backward. */
export function attentionForward(inputs: readonly Tensor[], attrs: PrimitiveAttrs['attention']): Tensor {
  const [query, , value] = inputs;
  const { output, logsumexp } = getBackend(query.device).attention!(attentionInputs(inputs), attrs);
  attrs.saved.logsumexp = fromStorage(logsumexp, query.shape.slice(0, 3));
  return fromStorage(output, [...query.shape.slice(0, 3), value.shape[3]]);
}

/** The primitive's gradient rule: dq, dk, dv from the backend's `attentionBackward`; none for the mask. */
export function attentionGrads(inputs: readonly Tensor[], output: Tensor, grad: Tensor, attrs: PrimitiveAttrs['attention']): (Tensor | null)[] {
  const [query, key, value] = inputs;
  const logsumexp = attrs.saved.logsumexp;
  if (logsumexp === null) throw new Error('attention: the forward kept no logsumexp (it ran without grad)');
  const saved = { output: output.toView(), logsumexp: logsumexp.toView(), gradOutput: grad.toView() };
  const g = getBackend(query.device).attentionBackward!(attentionInputs(inputs), saved, attrs);
  return [fromStorage(g.query, query.shape), fromStorage(g.key, key.shape), fromStorage(g.value, value.shape), ...inputs.slice(3).map(() => null)];
}
