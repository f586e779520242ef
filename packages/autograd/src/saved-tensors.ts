import { ELEMENTWISE_OPS, gradKernel, type ElementwiseOp } from '@tsgrad/tensor';
import type { PrimitiveAttrs, PrimitiveOp } from './primitives.js';

/**
 * Which forward values each gradient rule of gradients.ts reads, so that a node holds those and
 * nothing else (PyTorch's `SavedVariable`s: `add` saves nothing, `mul` its operands, `exp` its
 * result, `_to_copy` and views nothing). A rule may still read the shape, dtype, strides or device of
 * any input: that metadata stays on the node's input handles, whose memory may be gone.
 *
 * Given the op's attributes and which inputs need a gradient, an entry lists the inputs whose values
 * the rule reads and whether it reads the output. Tensors a primitive puts in `attrs.saved` (the fused
 * attention's logsumexp, the layer norm's mean and 1/std) are always held. A missing input here is a
 * use of freed memory in backward (an Error, never garbage): `autograd/test/saved-tensors.test.ts`
 * runs every rule with the forward's other tensors freed.
 */
export interface ReadValues {
  readonly inputs: readonly boolean[];
  readonly output: boolean;
}

type Reads<K extends PrimitiveOp> = (attrs: PrimitiveAttrs[K], needsGrad: readonly boolean[], arity: number) => ReadValues;

const nothing = (arity: number): ReadValues => ({ inputs: new Array<boolean>(arity).fill(false), output: false });
const inputsOnly = (...read: boolean[]): ReadValues => ({ inputs: read, output: false });

/** A declared op's rule runs each needed operand's gradient kernel, which names the streams it reads. */
function elementwiseReads<K extends ElementwiseOp>(op: K): Reads<K> {
  return (attrs, needsGrad, arity) => {
    const streams = new Set<string>();
    needsGrad.forEach((needed, i) => {
      if (needed) for (const name of gradKernel(op, i, attrs)?.inputs ?? []) streams.add(name);
    });
    return { inputs: ['x', 'y'].slice(0, arity).map((name) => streams.has(name)), output: streams.has('out') };
  };
}

export const READ_BY_RULE: { [K in PrimitiveOp]: Reads<K> } = {
  ...(Object.fromEntries(ELEMENTWISE_OPS.map((op) => [op, elementwiseReads(op)])) as { [K in ElementwiseOp]: Reads<K> }),
  // The condition picks where g goes; a and b give only their shapes.
  where: (_, needsGrad) => inputsOnly(needsGrad[1] || needsGrad[2], false, false),
  sum: (_, __, arity) => nothing(arity),
  // Which elements attained the extreme: the input against the output.
  max: () => ({ inputs: [true], output: true }),
  min: () => ({ inputs: [true], output: true }),
  argmax: (_, __, arity) => nothing(arity),
  argmin: (_, __, arity) => nothing(arity),
  // d(a·b)/da reads b and d/db reads a; the layout test reads strides only.
  matmul: (_, needsGrad) => inputsOnly(needsGrad[1], needsGrad[0], false),
  reshape: (_, __, arity) => nothing(arity),
  permute: (_, __, arity) => nothing(arity),
  expand: (_, __, arity) => nothing(arity),
  slice: (_, __, arity) => nothing(arity),
  copy: (_, __, arity) => nothing(arity),
  cast: (_, __, arity) => nothing(arity),
  toDevice: (_, __, arity) => nothing(arity),
  gather: () => inputsOnly(false, true),
  scatterAdd: (_, needsGrad) => inputsOnly(false, needsGrad[2], false),
  embeddingRows: () => inputsOnly(false, true),
  cumsum: (_, __, arity) => nothing(arity),
  argsort: (_, __, arity) => nothing(arity),
  // The backend's backward reads every operand and the output (the logsumexp is in attrs.saved).
  attention: (_, __, arity) => ({ inputs: new Array<boolean>(arity).fill(true), output: true }),
  // x, and the weight and bias the backend's backward is handed (parameters: held by their module anyway).
  layerNorm: (_, __, arity) => ({ inputs: new Array<boolean>(arity).fill(true), output: false }),
  cat: (_, __, arity) => nothing(arity),
};
