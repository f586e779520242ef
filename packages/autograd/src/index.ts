/**
 * @tsgrad/autograd: the user-facing `Tensor` with reverse-mode automatic differentiation.
 *
 * @example
 * ```ts
 * import { tensor, noGrad } from '@tsgrad/autograd';
 * const x = tensor([[1, 2, 3]], { dtype: 'float64' });
 * const w = tensor([[0.5], [-1], [2]], { dtype: 'float64', requiresGrad: true });
 * const loss = x.matmul(w).pow(2).sum();
 * loss.backward();
 * console.log(w.grad!.tolist()); // [[9], [18], [27]]
 * noGrad(() => w.sub_(w.grad!.mul(0.01)));
 * ```
 */
// First, by design: gradient rules create SparseTensors (embedding's sparse gradient), and
// `SparseTensor extends Tensor`; evaluating sparse.js first makes the module graph define Tensor
// before SparseTensor, with no registration at import time (the package has no side effects).
export { SparseTensor } from './sparse.js';
export { Tensor, type Device, type Scalar, type TensorOrScalar, type VersionCounter, type ReduceOptions, type VarianceOptions } from './tensor.js';
export type { DType, TypedArray } from '@tsgrad/tensor';
export type { NestedArray } from './nested.js';
export { noGrad, enableGrad, isGradEnabled } from './grad-mode.js';
export { detectAnomaly, setDetectAnomaly, isAnomalyEnabled, type AnomalyOptions } from './anomaly.js';
export { scope, chain, freeTemporaries, keep, unscope, unscoped } from './scope.js';
export { autocast, autocastOp, isAutocastEnabled, AUTOCAST_CPU_POLICY, AUTOCAST_WEBGPU_POLICY, type AutocastOptions, type AutocastOp, type AutocastPolicy } from './autocast.js';
export { setDefaultDtype, getDefaultDtype } from './defaults.js';
export { manualSeed, Generator, defaultGenerator } from './random.js';
export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  arange,
  rand,
  randn,
  randint,
  randperm,
  type TensorOptions,
} from './creation.js';
export { where, maximum, minimum, resultType, unaryOp, binaryOp } from './ops/elementwise.js';
export { cat, stack, split, chunk } from './ops/shape.js';
export { tril, triu } from './ops/triangular.js';
export { maskedFill } from './ops/masked-fill.js';
export { cumsum, type CumsumOptions } from './ops/cumsum.js';
export { sort, argsort, topk, type SortOptions, type TopkOptions, type ValuesIndices } from './ops/sort.js';
export { multinomial, type MultinomialOptions } from './ops/multinomial.js';
export { matmul, matmulAdd } from './ops/linalg.js';
export { embeddingLookup } from './ops/indexing.js';
export { fusedAttention, fusedAttentionAvailable, type FusedAttentionOptions } from './ops/attention.js';
export { fusedLayerNorm, fusedLayerNormAvailable, type FusedLayerNormOptions } from './ops/layer-norm.js';
export { Node, type SavedContext } from './node.js';
export type { PrimitiveOp, PrimitiveAttrs } from './primitives.js';
export { GRADIENTS, type GradRule } from './gradients.js';
export { encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES, type SafetensorsFile, type SafetensorsReadOptions } from './safetensors.js';
export { save, load, MAX_CHECKPOINT_DEPTH, serializeCheckpoint, deserializeCheckpoint, checkpointToBlob, checkpointFromBlob, type Checkpoint, type BlobLike } from './checkpoint.js';
