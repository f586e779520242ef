import {
  broadcastShapes,
  broadcastStrides,
  contiguousStrides,
  formatShape,
  getBackend,
  isHalf,
  numel,
  roundsOnRead,
  viewStrides,
  ELEMENTWISE_OPS,
  forwardKernel,
  type DType,
  type ElementwiseKernel,
  type ElementwiseOp,
  type OpParams,
  type Storage,
  type View,
} from '@tsgrad/tensor';
import { GRADIENTS } from './gradients.js';
import { attentionForward } from './ops/attention.js';
import { layerNormForward } from './ops/layer-norm.js';
import { isGradEnabled } from './grad-mode.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';

/**
 * The primitive ops: everything that records a graph node. Public ops (broadcasting, dtype promotion,
 * validation, composites such as softmax) lower to these; gradients.ts has one rule per entry.
 */
type NoAttrs = Record<string, never>;
/** `float32` (sum of a half input only): the float32 sums unrounded, as `sum(dtype=torch.float32)`. */
type Reduce = { axes: number[]; keepdim: boolean; float32?: boolean };
/** A declared elementwise op's attributes are its parameters (`leakyRelu`'s negativeSlope; most have none). @internal */
export interface PrimitiveAttrs extends Record<ElementwiseOp, OpParams> {
  where: NoAttrs;
  sum: Reduce;
  max: Reduce;
  min: Reduce;
  argmax: { axis: number; keepdim: boolean };
  argmin: { axis: number; keepdim: boolean };
  /** Batched [B, M, K] x [B, K, N], plus an optional addend [B, M, N] before the one rounding (addmm). */
  matmul: NoAttrs;
  /** A view when strides allow, else a copy (PyTorch's reshape). */
  reshape: { shape: number[] };
  permute: { dims: number[] };
  expand: { shape: number[] };
  /** Elements start, start+step, ... < end along dim: a view. */
  slice: { dim: number; start: number; end: number; step: number };
  /** A contiguous copy (clone / contiguous). */
  copy: NoAttrs;
  cast: { dtype: DType };
  toDevice: { device: string };
  gather: { dim: number };
  /** Inputs (base, index, src): base with src added at index along dim, out of place. */
  scatterAdd: { dim: number };
  cat: { dim: number };
  /** Inclusive prefix sums along `axis`, from the end when `reverse` (cumsum's gradient). */
  cumsum: { axis: number; reverse: boolean };
  /** The int32 indices that sort along `axis` (stable, NaN above every number): sort, argsort, topk. */
  argsort: { axis: number; descending: boolean };
  /** Rows of a weight [num, ...] picked by 1-D int32 indices (embeddings): inputs (weight, indices). */
  embeddingRows: { sparse: boolean; paddingIdx: number | null };
  /**
   * The fused attention (ops/attention.ts, a backend's `attention`): inputs query [B, H, L, E], key,
   * value and an optional additive mask [B, H, L, S]. `saved.logsumexp` receives the forward's per-row
   * logsumexp for the backward (a second output in PyTorch's flash kernel; a primitive here has one).
   */
  attention: { scale: number; isCausal: boolean; saved: { logsumexp: Tensor | null } };
  /**
   * The fused layer norm (ops/layer-norm.ts, a backend's `layerNorm`): inputs x [rows, n] (contiguous),
   * then the weight and bias [n] it has (`weight`, `bias`); `saved` receives the rows' mean and 1/std
   * for the backward.
   */
  layerNorm: { eps: number; weight: boolean; bias: boolean; saved: { mean: Tensor | null; rstd: Tensor | null } };
}
/** @internal */
export type PrimitiveOp = keyof PrimitiveAttrs;

type Forward<K extends PrimitiveOp> = (inputs: readonly Tensor[], attrs: PrimitiveAttrs[K]) => Tensor;

const backend = (t: Tensor) => getBackend(t.device);

/** A fresh contiguous tensor around newly computed storage. */
export function fromStorage(storage: Storage, shape: readonly number[]): Tensor {
  return new Tensor({ storage, dtype: storage.dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0 });
}

/** Another window onto `t`'s memory, sharing its version counter (writes through one are seen by all). */
function viewOf(t: Tensor, shape: number[], strides: number[], offset: number): Tensor {
  return new Tensor({ storage: t.storage, dtype: t.dtype, shape, strides, offset }, t._version);
}

function broadcastView(t: Tensor, shape: readonly number[]): View {
  const v = t.toView();
  return { ...v, shape, strides: broadcastStrides(v.shape, v.strides, shape) };
}

/**
 * Runs an elementwise kernel over `tensors` (one per `kernel.inputs` name, each broadcast to `shape`)
 * into a fresh tensor: a declared op's forward here, an operand's gradient in gradients.ts.
 */
export function runKernel(kernel: ElementwiseKernel, tensors: readonly Tensor[], shape: readonly number[]): Tensor {
  return fromStorage(backend(tensors[0]).elementwise(kernel, tensors.map((t) => broadcastView(t, shape))), shape);
}

const elementwise =
  <K extends ElementwiseOp>(op: K): Forward<K> =>
  (inputs, params) =>
    runKernel(forwardKernel(op, params), inputs, inputs.length === 1 ? inputs[0].shape : broadcastShapes(inputs[0].shape, inputs[1].shape, op));

const reduce =
  <K extends 'sum' | 'max' | 'min'>(op: K): Forward<K> =>
  ([x], { axes, keepdim, float32 }) => {
    const wide = float32 === true && isHalf(x.dtype);
    const storage = wide ? backend(x).reduce(op, x.toView(), axes, 'float32') : backend(x).reduce(op, x.toView(), axes);
    if (wide && storage.dtype !== 'float32') throw new Error(`${op}: the ${x.device} backend returned ${storage.dtype} for a float32 ${op} of a ${x.dtype} tensor`);
    return fromStorage(storage, keptShape(x.shape, axes, keepdim));
  };

const argReduce =
  <K extends 'argmax' | 'argmin'>(op: K): Forward<K> =>
  ([x], { axis, keepdim }) =>
    fromStorage(backend(x).argReduce(op, x.toView(), axis), keptShape(x.shape, [axis], keepdim));

export function keptShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/**
 * A contiguous copy: a cast to its own dtype, one kernel writing every element (no zero fill first).
 * Of a rounding view (`roundsOnRead`), the cast it stands for: its float32 storage rounded.
 */
function copyOf(x: Tensor): Tensor {
  const v = x.toView();
  return fromStorage(backend(x).cast(roundsOnRead(v) ? { ...v, dtype: 'float32' } : v, x.dtype), x.shape);
}

/**
 * The ops that take a rounding view (`roundsOnRead`: a half view of a float32 storage, which
 * autocast hands matmul for the float32 batch, and matmul's rule for the batch or a parameter,
 * recomputed-casts.ts) as it is: matmul,
 * whose kernel rounds it as it loads it, and the views, which only carry it (reshape's copy is a
 * cast: `copyOf`). Every other op gets the cast it stands for (`apply`).
 */
const TAKES_ROUNDING_VIEWS = new Set<PrimitiveOp>(['matmul', 'reshape', 'permute', 'expand', 'slice']);

const FORWARD: { [K in PrimitiveOp]: Forward<K> } = {
  ...(Object.fromEntries(ELEMENTWISE_OPS.map((op) => [op, elementwise(op)])) as { [K in ElementwiseOp]: Forward<K> }),
  where: ([cond, a, b]) => {
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
    const s = backend(a).ternary('where', broadcastView(cond, shape), broadcastView(a, shape), broadcastView(b, shape));
    return fromStorage(s, shape);
  },
  sum: reduce('sum'),
  max: reduce('max'),
  min: reduce('min'),
  argmax: argReduce('argmax'),
  argmin: argReduce('argmin'),
  matmul: ([a, b, addend]) => fromStorage(backend(a).matmul(a.toView(), b.toView(), addend?.toView()), [a.shape[0], a.shape[1], b.shape[2]]),
  reshape: ([x], { shape }) => {
    const strides = viewStrides(x.shape, x.stride(), shape);
    if (strides) return viewOf(x, shape, strides, x.storageOffset());
    const c = copyOf(x);
    const view = viewOf(c, shape, contiguousStrides(shape), 0);
    c._release(); // the view is the copy's only owner: disposing it frees the copy
    return view;
  },
  permute: ([x], { dims }) => {
    const st = x.stride();
    return viewOf(x, dims.map((d) => x.shape[d]), dims.map((d) => st[d]), x.storageOffset());
  },
  expand: ([x], { shape }) => viewOf(x, [...shape], broadcastStrides(x.shape, x.stride(), shape), x.storageOffset()),
  slice: ([x], { dim, start, end, step }) => {
    const shape = x.shape;
    const strides = x.stride();
    const offset = x.storageOffset() + start * strides[dim];
    shape[dim] = Math.max(0, Math.ceil((end - start) / step));
    strides[dim] *= step;
    return viewOf(x, shape, strides, offset);
  },
  copy: ([x]) => copyOf(x),
  cast: ([x], { dtype }) => fromStorage(backend(x).cast(x.toView(), dtype), x.shape),
  toDevice: ([x], { device }) => {
    const src = backend(x);
    if (!src.readSync) {
      throw new Error(
        device === 'cpu'
          ? `to('cpu'): reading a ${x.device} tensor is asynchronous; use \`await t.cpu()\` (or \`await t.data()\`)`
          : `to('${device}'): reading a ${x.device} tensor is asynchronous; use \`await t.cpu()\` and move that to '${device}'`,
      );
    }
    const c = x.contiguous();
    const data = src.readSync(c.storage, c.storageOffset(), c.numel());
    const dst = getBackend(device);
    if (x.dtype === 'float64' && !dst.capabilities.float64) {
      throw new Error(`to('${device}'): float64 is not supported on ${device}; cast first with t.to('float32')`);
    }
    if (isHalf(x.dtype) && !dst.capabilities.half) {
      throw new Error(`to('${device}'): ${x.dtype} is not supported on ${device} (its backend's capabilities.half is false); cast first with t.to('float32')`);
    }
    return fromStorage(dst.fromData(data, x.dtype), x.shape);
  },
  gather: ([x, index], { dim }) => fromStorage(backend(x).gather(x.toView(), dim, index.toView()), index.shape),
  scatterAdd: ([base, index, src], { dim }) => {
    const out = copyOf(base);
    backend(base).scatterAdd(out.toView(), dim, index.toView(), src.toView());
    return out;
  },
  embeddingRows: ([weight, indices]) => {
    const rowShape = [indices.numel(), ...weight.shape.slice(1)];
    const index = indices.reshape([indices.numel(), ...weight.shape.slice(1).map(() => 1)]).expand(rowShape);
    return fromStorage(backend(weight).gather(weight.toView(), 0, index.toView()), rowShape);
  },
  cumsum: ([x], { axis, reverse }) => fromStorage(backend(x).cumsum(x.toView(), axis, reverse), x.shape),
  argsort: ([x], { axis, descending }) => fromStorage(backend(x).sort(x.toView(), axis, descending), x.shape),
  attention: (inputs, attrs) => attentionForward(inputs, attrs),
  layerNorm: (inputs, attrs) => layerNormForward(inputs, attrs),
  cat: (inputs, { dim }) => {
    const shape = inputs[0].shape;
    shape[dim] = inputs.reduce((n, t) => n + t.shape[dim], 0);
    const out = fromStorage(backend(inputs[0]).full(numel(shape), 0, inputs[0].dtype), shape);
    const strides = out.stride();
    let start = 0;
    for (const t of inputs) {
      const window: View = { ...out.toView(), shape: t.shape, offset: start * strides[dim] };
      backend(t).copy(t.toView(), window);
      start += t.shape[dim];
    }
    return out;
  },
};

/**
 * Runs a primitive and, when grad mode is on and an input requires grad, records its graph node.
 * The only place where graph nodes are created.
 */
export function apply<K extends PrimitiveOp>(op: K, operands: readonly Tensor[], attrs: PrimitiveAttrs[K]): Tensor {
  const device = operands[0].device;
  for (const t of operands) {
    if (t.isSparse) throw new Error(`${op}: this operation does not support sparse tensors; call toDense() first`);
    if (t.device !== device) {
      throw new Error(
        `${op}: expected all tensors to be on the same device, but found at least two devices, ${device} and ${t.device}`,
      );
    }
  }
  // A rounding view reaching another op (matmul's rule run inside an autocast of another dtype casts
  // its operands) is read as the cast it stands for, never as packed half words.
  const inputs = !TAKES_ROUNDING_VIEWS.has(op) && operands.some(roundsOnRead) ? operands.map((t) => (roundsOnRead(t) ? copyOf(t) : t)) : operands;
  const out = allocating(op, () => `for inputs of shape ${describeShapes(...inputs.map((t) => t.shape))}`, () => (FORWARD[op] as Forward<K>)(inputs, attrs));
  if (GRADIENTS[op] !== null && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out._setGradFn(new Node(op, inputs, attrs, out));
  }
  return out;
}

const ALLOCATION_FAILURE = /allocation failed|invalid typed array length|invalid array buffer length|array buffer allocation|out of memory|maxBufferSize/i;

/**
 * Runs `fn`, turning the engine's allocation failure (a RangeError such as "Array buffer allocation
 * failed", which names nothing) into an Error naming the op and the shapes involved (`what` is only
 * formatted then: this wraps every op).
 */
export function allocating<T>(op: string, what: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && ALLOCATION_FAILURE.test(e.message)) {
      throw new Error(`${op}: cannot allocate memory ${what()} (${e.message})`);
    }
    throw e;
  }
}

export function describeShapes(...shapes: (readonly number[])[]): string {
  return shapes.map(formatShape).join(' and ');
}
