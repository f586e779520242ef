import type { DType, TypedArray } from './dtype.js';
import type { ElementwiseProgram, ProgramItem } from './program.js';
import type { BinaryOp, UnaryOp } from './ops/elementwise-ops.js';
import type { ElementwiseKernel } from './ops/kernel.js';

/**
 * The contract a device implements. Deliberately small (tinygrad's lesson): a dozen primitive kernels
 * that every tsgrad op lowers to. Elementwise ops are not kernels of their own: each is declared once
 * (ops/elementwise-ops.ts) as expressions, and a backend runs any of them through `elementwise` by
 * rendering the expression (a backend maps every function of the language, `satisfies
 * Record<Builtin, ...>`, so one that lacks a function fails to compile).
 *
 * Storage is opaque: the autograd layer never touches memory, it passes {@link View}s (a storage handle
 * plus shape, strides and offset in elements) to kernels and gets fresh contiguous storage back.
 * Reads are asynchronous because a GPU's are; `readSync` exists only where `capabilities.syncRead`.
 */
export const BACKEND_API_VERSION = 5;

export type { UnaryOp, BinaryOp, ElementwiseOp } from './ops/elementwise-ops.js';

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** `where(cond, a, b)`: cond is bool, a and b share a dtype. */
export type TernaryOp = 'where';

/** Reductions over a set of axes; output keeps reduced dims as size 1. NaN propagates through max/min. */
export type ReduceOp = 'sum' | 'max' | 'min';

/** Index of the max/min along one axis (first occurrence on ties, NaN counts as the extreme), int32. */
export type ArgReduceOp = 'argmax' | 'argmin';

/** Every kernel name, for registries, capability reports and conformance skip lists. */
export type KernelName =
  | UnaryOp
  | BinaryOp
  | TernaryOp
  | ReduceOp
  | ArgReduceOp
  | 'elementwise'
  | 'matmul'
  | 'copy'
  | 'cast'
  | 'gather'
  | 'scatterAdd'
  | 'cumsum'
  | 'sort'
  | 'full'
  | 'fromData'
  | 'runProgram';

/** An opaque handle to device memory holding `size` elements of `dtype`. Backends extend it. */
export interface Storage {
  readonly device: string;
  readonly dtype: DType;
  readonly size: number;
}

/** A strided window onto a storage: element `idx` lives at `offset + sum(idx[d] * strides[d])`. */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface BackendCapabilities {
  /** Whether float64 tensors can live on this device (WGSL has no f64). */
  readonly float64: boolean;
  /** Whether float16 and bfloat16 tensors can live on this device (CPU and WebGPU: yes; both compute in float32 and round once). */
  readonly half: boolean;
  /** Whether `readSync` works (CPU: yes; GPU: no, use `read`). */
  readonly syncRead: boolean;
  /**
   * The largest head dimension (query/key's and value's last) the fused `attention` runs; absent
   * where the backend has no fused attention (the CPU: while its WebAssembly kernels are not loaded,
   * so it is read at each call, not once).
   */
  readonly fusedAttentionMaxHeadDim?: number;
  /**
   * Whether the fused `attention` and `attentionBackward` take float16 and bfloat16 views in place
   * (read from their packed words as the float32 values widening gives, so the results are those of
   * the float32 kernel on widened copies); absent or false: the caller hands them widened copies.
   */
  readonly fusedAttentionReadsHalf?: boolean;
  /**
   * Whether `matmul` takes rounding views (`roundsOnRead`: a float16 or bfloat16 view of a float32
   * storage) as operands, with the bits of the product of their casts; absent or false: the caller
   * casts (autocast, which reads the batch through one instead of making and holding its cast).
   */
  readonly matmulRoundsOnRead?: boolean;
}

/** What the fused attention computes with: the factor on q·kᵀ, and whether key j > query i is masked out. */
export interface AttentionOptions {
  /**
   * The factor on q·kᵀ (SDPA's `scale`; the caller passes 1/√E when the user gives none).
   * @defaultValue required
   */
  readonly scale: number;
  /**
   * Mask out key j > query i (aligned to the top left, as PyTorch's `is_causal`).
   * @defaultValue required
   */
  readonly isCausal: boolean;
}

/**
 * The fused attention's operands, float32 4-D views of any strides (a stride 0 broadcasts; half views
 * too where `capabilities.fusedAttentionReadsHalf`):
 * query [B, H, L, E], key [B, H, S, E], value [B, H, S, Ev], and an optional additive mask
 * [B, H, L, S] (−∞ masks a score out; a bool mask is converted by the caller).
 */
export interface AttentionInputs {
  readonly query: View;
  readonly key: View;
  readonly value: View;
  readonly mask: View | null;
}

/**
 * What `attentionBackward` reads besides the inputs: the forward's output (contiguous from offset 0,
 * as the forward wrote it; in the inputs' half dtype where `fusedAttentionReadsHalf`, as PyTorch's
 * flash backward reads it) and its float32 logsumexp, the output's gradient (the output's dtype).
 */
export interface AttentionSaved {
  readonly output: View;
  readonly logsumexp: View;
  readonly gradOutput: View;
}

/**
 * Layer normalization's operands (the Backend's optional `layerNorm`): `x` a 2-D view [rows, n] of
 * contiguous rows (element stride 1, row stride n), `weight` and `bias` contiguous [n] views or
 * null, all of one floating dtype.
 */
export interface LayerNormInputs {
  readonly x: View;
  readonly weight: View | null;
  readonly bias: View | null;
}

/** What `layerNormBackward` reads besides the inputs: the forward's per-row mean and 1/std, the output's gradient (contiguous [rows, n]). */
export interface LayerNormSaved {
  readonly mean: View;
  readonly rstd: View;
  readonly gradOutput: View;
}

/** Which of `layerNormBackward`'s gradients to compute (the others come back null). */
export interface LayerNormNeeds {
  readonly input: boolean;
  readonly weight: boolean;
  readonly bias: boolean;
}

export interface Backend {
  readonly apiVersion: typeof BACKEND_API_VERSION;
  /** The device name tensors carry, e.g. `'cpu'`, `'webgpu'`. */
  readonly device: string;
  readonly capabilities: BackendCapabilities;

  /** Storage holding a copy of `data` (its dtype decides the storage dtype). */
  fromData(data: TypedArray, dtype: DType): Storage;
  /** Storage of `size` elements all equal to `value`. */
  full(size: number, value: number, dtype: DType): Storage;
  /** Copies `length` elements starting at `offset` back to the host. */
  read(storage: Storage, offset: number, length: number): Promise<TypedArray>;
  /** Synchronous read; present only when `capabilities.syncRead`. */
  readSync?(storage: Storage, offset: number, length: number): TypedArray;
  /** Releases device memory early; using the storage afterwards is an error. CPU: no-op. */
  free(storage: Storage): void;

  /**
   * An elementwise kernel (a declared op's forward or an operand's gradient: `forwardKernel`,
   * `gradKernel`) over `inputs`, one view per `kernel.inputs` name, all of one shape (broadcast by the
   * caller with stride-0 views) and dtype; the result is contiguous, of that dtype or bool. One
   * exception: float32 views may accompany float16/bfloat16 ones (of one half dtype), read as float32
   * by the half kernel, which computes in float32 anyway, and the result is of the half dtype (a half
   * tensor times a number, as PyTorch's opmath scalar: autograd's `opmathScalar`).
   */
  elementwise(kernel: ElementwiseKernel, inputs: readonly View[]): Storage;
  ternary(op: TernaryOp, cond: View, a: View, b: View): Storage;
  /**
   * `op` over `axes` (kept as size 1), of x's dtype; `resultDtype: 'float32'` with a float16 or
   * bfloat16 `x` returns the float32 result unrounded (PyTorch's `sum(dtype=torch.float32)`: what a half
   * `mean` divides before its one rounding).
   */
  reduce(op: ReduceOp, x: View, axes: readonly number[], resultDtype?: 'float32'): Storage;
  argReduce(op: ArgReduceOp, x: View, axis: number): Storage;
  /**
   * Batched matmul: `a` is [B, M, K], `b` is [B, K, N] (any strides), result contiguous [B, M, N].
   * With `addend` (a [B, M, N] view of the same dtype, broadcast strides allowed: a bias), each
   * element is its product's sum plus the addend's element, rounded once for half operands (PyTorch's
   * addmm and baddbmm, which linear and conv use for their bias). Where `capabilities.matmulRoundsOnRead`,
   * an operand of half operands may be a rounding view (`roundsOnRead`), read as its cast would hold:
   * the result has the bits of the product of the cast, without the cast's memory.
   */
  matmul(a: View, b: View, addend?: View): Storage;
  /** Writes `src` into the strided window `dst` (same shape; another dtype converts as `cast`); the basis of in-place ops. */
  copy(src: View, dst: View): void;
  /**
   * A contiguous copy of `x` converted to `dtype` (bool: x != 0; float -> int32: truncation toward
   * zero, and INT32_MIN for NaN, ±inf and values whose truncation is outside [−2^31, 2^31), as
   * PyTorch on x86: C++ leaves those undefined, CUDA saturates; every tsgrad device gives x86's).
   */
  cast(x: View, dtype: DType): Storage;
  /** PyTorch's `gather`: out[i][j] = x[index[i][j]][j] for dim 0; index is int32, result has its shape. */
  gather(x: View, dim: number, index: View): Storage;
  /** PyTorch's `scatter_add_` into `dst` in place: dst[index[i][j]][j] += src[i][j] for dim 0. */
  scatterAdd(dst: View, dim: number, index: View, src: View): void;
  /**
   * Inclusive prefix sums along `axis` (from the last element backwards when `reverse`: the gradient
   * of a cumsum): a contiguous result of x's shape and dtype (float32 accumulates as the device can;
   * the CPU in float64, as PyTorch's CPU kernel).
   */
  cumsum(x: View, axis: number, reverse: boolean): Storage;
  /**
   * The int32 indices (contiguous, x's shape) that sort `x` along `axis`: stable (equal values keep
   * their order), NaN above every number (last ascending, first descending, as PyTorch's sort), −0 equal
   * to +0. Values are a gather of x by them.
   */
  sort(x: View, axis: number, descending: boolean): Storage;
  /**
   * Runs a fused elementwise program (see `defineProgram`) over several tensors in one pass each,
   * updating the written streams in place: how optimizers step a whole parameter group. Every view
   * of an item has the same number of elements and dtype. Returns false when the backend cannot run
   * these views as given (non-contiguous ones); the caller then runs it on contiguous copies.
   */
  runProgram(program: ElementwiseProgram, items: readonly ProgramItem<View>[]): boolean;

  /**
   * Optional, FlashAttention-style: softmax(q·kᵀ·scale + mask)·v in one pass with an online softmax,
   * never holding the [L, S] scores. Returns the output (contiguous [B, H, L, Ev]) and each row's
   * logsumexp of the masked scores (contiguous [B, H, L], what the backward recomputes the weights
   * from). A row whose every score is −∞ gives zeros and logsumexp −∞ (PyTorch's `_safe_softmax`); a
   * NaN or +∞ score makes its row NaN. Head dims up to `capabilities.fusedAttentionMaxHeadDim`.
   */
  attention?(inputs: AttentionInputs, opts: AttentionOptions): { output: Storage; logsumexp: Storage };
  /**
   * The gradients of `attention` (FlashAttention-2's backward, the scores recomputed tile by tile):
   * with D = rowsum(dO∘O), dS = P∘(dO·vᵀ − D); dq = dS·k·scale, dk = dSᵀ·q·scale, dv = Pᵀ·dO.
   * `output` and `logsumexp` are the forward's; `gradOutput` is a [B, H, L, Ev] view of any strides.
   * Results contiguous, of the shapes of query, key and value.
   */
  attentionBackward?(inputs: AttentionInputs, saved: AttentionSaved, opts: AttentionOptions): { query: Storage; key: Storage; value: Storage };
  /**
   * Optional: layer normalization of each row, y = (x − mean) · rstd · weight + bias with
   * rstd = 1/√(var + eps) (biased variance), in one pass that keeps only the rows' `mean` and
   * `rstd` (contiguous [rows], x's dtype) for the backward. A row holding NaN or ±∞ is NaN.
   * Without it, `F.layerNorm` composes the same from elementwise ops and reductions.
   */
  layerNorm?(inputs: LayerNormInputs, eps: number): { output: Storage; mean: Storage; rstd: Storage };
  /**
   * The gradients of `layerNorm` (PyTorch's layer_norm_backward): with x̂ = (x − mean)·rstd and
   * ĝ = g·weight, dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dweight = Σ_rows g·x̂, dbias = Σ_rows g;
   * contiguous, of the shapes of x, weight and bias; null where `needs` says so.
   */
  layerNormBackward?(inputs: LayerNormInputs, saved: LayerNormSaved, needs: LayerNormNeeds): { input: Storage | null; weight: Storage | null; bias: Storage | null };
}
