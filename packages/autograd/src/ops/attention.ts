import { checkOptionKeys, contiguousStrides, getBackend, formatShape, isHalf, numel, storageSpan, type AttentionInputs, type Backend, type DType, type Storage, type View } from '@tsgrad/tensor';
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
 * kernels and the dims are within its limit, float32 or half (float16, bfloat16: the float32 kernel on
 * widened operands, or on WebGPU on the half ones read in place, the output rounded once, as PyTorch's
 * half attention kernels accumulate in float32; so autocast keeps the fused path). WebGPU has them; the CPU while its WebAssembly
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
    (query.dtype === 'float32' || (isHalf(query.dtype) && backend.capabilities.half)) &&
    query.shape[query.ndim - 1] <= max &&
    value.shape[value.ndim - 1] <= max
  );
}

/**
 * softmax(q·kᵀ·scale + mask)·v in one fused kernel (FlashAttention-style; the backend's `attention`),
 * differentiable in query, key and value (the backward recomputes the weights: `attentionBackward`).
 * Operands are 4-D of one batch and head shape: query [B, H, L, E], key [B, H, S, E], value
 * [B, H, S, Ev]; broadcast ones as expanded views. A row with every score masked out gives zeros. The
 * mask gets no gradient. For half operands the backward reads the half output, as PyTorch's flash
 * backward does (see `attentionForward`). `F.scaledDotProductAttention` calls this where `fusedAttentionAvailable`.
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

/**
 * `v` itself, or when it is half, a float32 view over a widened copy, pushed on `temps`: of the
 * storage span it reads, strides kept (an expanded mask stays its source's size), unless that span
 * is much larger than the view (q, k and v as views into one qkv projection each reach nearly all of
 * it), when a compact copy of the view's own elements is made instead (as cpu/wasm/attention.ts).
 */
function widened(backend: Backend, v: View, temps: Storage[]): View {
  if (!isHalf(v.dtype)) return v;
  const { lo, length } = storageSpan(v.shape, v.strides, v.offset);
  const n = numel(v.shape);
  if (length > 2 * n + 4096) {
    const compact = backend.cast(v, 'float32');
    temps.push(compact);
    return { storage: compact, dtype: 'float32', shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
  }
  const wide = backend.cast({ storage: v.storage, dtype: v.dtype, shape: [length], strides: [1], offset: lo }, 'float32');
  temps.push(wide);
  return { storage: wide, dtype: 'float32', shape: v.shape, strides: v.strides, offset: length > 0 ? v.offset - lo : 0 };
}

/** A float32 result of `shape` rounded once to `dtype` (the float32 storage freed), or kept when `dtype` is float32. */
function rounded(backend: Backend, storage: Storage, shape: readonly number[], dtype: DType): Storage {
  if (dtype === 'float32') return storage;
  const out = backend.cast({ storage, dtype: 'float32', shape, strides: contiguousStrides(shape), offset: 0 }, dtype);
  backend.free(storage);
  return out;
}

/**
 * Runs `kernel` on `views`, half ones widened to float32 copies freed afterwards, unless the backend
 * reads half operands in place (`fusedAttentionReadsHalf`: WebGPU), which computes the same values
 * without the copies (in a backward the float32 images of q, k, v, a half mask, the output and its
 * gradient).
 */
function runFused<T>(backend: Backend, views: readonly View[], kernel: (wide: View[]) => T): T {
  if (backend.capabilities.fusedAttentionReadsHalf === true) return kernel([...views]);
  const temps: Storage[] = [];
  try {
    return kernel(views.map((v) => widened(backend, v, temps)));
  } finally {
    for (const t of temps) backend.free(t);
  }
}

/** The backend's inputs from their views (a null mask stays null). */
function attentionInputs([query, key, value, mask]: readonly View[]): AttentionInputs {
  return { query, key, value, mask: mask ?? null };
}

/**
 * The primitive's forward: the output (the query's dtype; a half output rounded once from float32),
 * and for the backward the float32 logsumexp, saved in `attrs`. The backward reads the output the
 * forward returned, half for half operands, as PyTorch's flash kernels do (`_flash_attention_backward`
 * is handed the forward's `output`): its D = rowsum(dO∘O) then carries the output's rounding, up to
 * eps(half)/2·Σ|dO∘O| a row, into that row's dq and the keys' dk, the price of keeping half an output
 * where a float32 copy would cost [B, H, L, Ev] float32 per attention.
 */
export function attentionForward(inputs: readonly Tensor[], attrs: PrimitiveAttrs['attention']): Tensor {
  const [query, , value] = inputs;
  const backend = getBackend(query.device);
  const { output, logsumexp } = runFused(backend, inputs.map((t) => t.toView()), (views) => backend.attention!(attentionInputs(views), attrs));
  const outShape = [...query.shape.slice(0, 3), value.shape[3]];
  attrs.saved.logsumexp = fromStorage(logsumexp, query.shape.slice(0, 3));
  return fromStorage(rounded(backend, output, outShape, query.dtype), outShape);
}

/** The primitive's gradient rule: dq, dk, dv from the backend's `attentionBackward` (in the inputs' dtypes); none for the mask. */
export function attentionGrads(inputs: readonly Tensor[], output: Tensor, grad: Tensor, attrs: PrimitiveAttrs['attention']): (Tensor | null)[] {
  const [query] = inputs;
  const logsumexp = attrs.saved.logsumexp;
  if (logsumexp === null) throw new Error('attention: the forward kept no logsumexp (it ran without grad)');
  const backend = getBackend(query.device);
  const views = [...inputs.map((t) => t.toView()), output.toView(), grad.toView()];
  const g = runFused(backend, views, (wide) => {
    const n = inputs.length;
    const saved = { output: wide[n], logsumexp: logsumexp.toView(), gradOutput: wide[n + 1] };
    return backend.attentionBackward!(attentionInputs(wide.slice(0, n)), saved, attrs);
  });
  const grads = [g.query, g.key, g.value].map((s, i) => fromStorage(rounded(backend, s, inputs[i].shape, inputs[i].dtype), inputs[i].shape));
  return [...grads, ...inputs.slice(3).map(() => null)];
}
