import { BACKEND_API_VERSION, type Backend, type Storage, type View } from '../backend.js';
import { storesDType, toTyped, type DType, type TypedArray } from '../dtype.js';
import { HALF_CODECS, isHalf } from '../half.js';
import { attentionBackwardKernel, attentionKernel } from './attention.js';
import { CpuStorage } from './storage.js';
import { runHalfProgram, widened, widenView } from './half-views.js';
import { giveArray, noteStorageCollected, noteStorageCreated, noteStorageReleased, takeArray } from './buffer-pool.js';
import { contiguousStrides, numel } from '../shape.js';
import { copyKernel, elementwiseKernel, whereKernel } from './elementwise.js';
import { gatherKernel, scatterAddKernel } from './gather.js';
import { layerNormBackwardKernel, layerNormKernel } from './layer-norm.js';
import { matmulKernel } from './matmul.js';
import { runProgramKernel } from './program.js';
import { cumsumKernel } from './scan.js';
import { sortKernel } from './sort.js';
import { CPU_ATTENTION_MAX_HEAD_DIM, attentionBackwardWasm, attentionWasm } from './wasm/attention.js';
import { copyWasm, elementwiseWasm, whereWasm } from './wasm/elementwise.js';
import { gatherWasm, scatterAddWasm } from './wasm/gather.js';
import { layerNormBackwardWasm, layerNormWasm } from './wasm/layer-norm.js';
import { matmulWasm } from './wasm/matmul.js';
import { argReduceWasm, reduceWasm } from './wasm/reduce.js';
import { wasmKernels } from './wasm/runtime.js';
import { inHeap } from './wasm/heap.js';
import { argReduceKernel, reduceKernel } from './reduce.js';

export { CpuStorage } from './storage.js';

function dataOf(v: View | Storage): TypedArray {
  const s = 'storage' in v ? v.storage : v;
  if (!(s instanceof CpuStorage)) {
    throw new Error(`cpu backend: got storage of device '${s.device}'; move the tensor to 'cpu' first`);
  }
  return s.data;
}

/**
 * Frees the heap block of a storage the garbage collector took without `free` (heap blocks are not
 * garbage collected themselves). The held value is the block's array, never the storage.
 */
const collected = new FinalizationRegistry<TypedArray>((array) => {
  noteStorageReleased(array.byteLength);
  noteStorageCollected();
  giveArray('float32', array);
});

function wrap(data: TypedArray, dtype: DType): CpuStorage {
  noteStorageCreated(data.byteLength);
  const storage = new CpuStorage(data, dtype);
  if (inHeap(data)) collected.register(storage, data, storage);
  return storage;
}

/** Adds the [B, M, N] view `v` (any strides) to the contiguous `out` of its shape, element by element. */
function addInto(out: TypedArray, v: View, data: TypedArray): void {
  const [B, M, N] = v.shape;
  const [sb, sm, sn] = v.strides;
  let k = 0;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < M; j++) {
      for (let n = 0, p = v.offset + i * sb + j * sm; n < N; n++, p += sn) out[k++] += data[p];
    }
  }
}

/** `kernel` over `views` as they are, or in float32 when they are half (see `widened`). */
function inFloat32(views: readonly View[], kernel: (views: readonly View[]) => TypedArray): TypedArray {
  return views.some((v) => isHalf(v.dtype)) ? widened(views, kernel, dataOf) : kernel(views);
}

/**
 * The CPU backend: typed arrays, float64 everywhere, float32 results rounded to float32 at every store;
 * float16 and bfloat16 computed in float32 and rounded once per result (see half-views.ts).
 * float32 matmul, the common elementwise ops, sum/max/min/argmax/argmin, gather/scatter-add and the
 * native kernels programs name run in WebAssembly SIMD where the engine has it (see `setCpuKernels`);
 * the TypeScript kernels and the programs' generated loops are the reference and the fallback.
 * The fused attention is offered (`capabilities.fusedAttentionMaxHeadDim`) only while the WebAssembly
 * kernels are loaded: without them, and in float64, `F.scaledDotProductAttention` composes it from ops.
 * @example
 * const cpu = createCpuBackend();
 * cpu.capabilities.float64 // true
 */
export function createCpuBackend(): Backend {
  return {
    apiVersion: BACKEND_API_VERSION,
    device: 'cpu',
    capabilities: {
      float64: true,
      half: true,
      syncRead: true,
      // Its half matmul widens operands into float32 scratch anyway: a rounding view rounds there.
      matmulRoundsOnRead: true,
      // A getter: `setCpuKernels({ wasm })` switches the fused attention with the kernels.
      get fusedAttentionMaxHeadDim() {
        return wasmKernels() ? CPU_ATTENTION_MAX_HEAD_DIM : undefined;
      },
    },
    fromData(data, dtype) {
      // A Uint16Array for a half dtype is its bits; any other array holds numbers to convert.
      if (!storesDType(data, dtype)) return wrap(toTyped(dtype, data), dtype);
      const copy = takeArray(dtype, data.length, { zero: false });
      copy.set(data as ArrayLike<number>);
      return wrap(copy, dtype);
    },
    full(size, value, dtype) {
      const a = takeArray(dtype, size);
      // The array comes zeroed; −0 is filled too (a scalar −0: x.div(-0) is −inf for positive x).
      if (!Object.is(value, 0)) a.fill(dtype === 'bool' ? (value ? 1 : 0) : isHalf(dtype) ? HALF_CODECS[dtype].encode(value) : value);
      return wrap(a, dtype);
    },
    read(storage, offset, length) {
      return Promise.resolve(dataOf(storage).slice(offset, offset + length));
    },
    readSync(storage, offset, length) {
      return dataOf(storage).slice(offset, offset + length);
    },
    free(storage) {
      // Released arrays are recycled; storages never released are garbage collected.
      if (!(storage instanceof CpuStorage)) return;
      const a = storage.release();
      if (!a) return;
      collected.unregister(storage);
      noteStorageReleased(a.byteLength);
      giveArray(storage.dtype, a);
    },
    elementwise(kernel, inputs) {
      const run = (views: readonly View[]) => elementwiseWasm(kernel, views, dataOf) ?? elementwiseKernel(kernel, views, dataOf);
      // A half kernel may read a float32 scalar operand (the backend contract): the result is half.
      return wrap(inFloat32(inputs, run), kernel.resultDtype === 'bool' ? 'bool' : (inputs.find((v) => isHalf(v.dtype)) ?? inputs[0]).dtype);
    },
    ternary(_op, cond, a, b) {
      return wrap(whereWasm(cond, a, b, dataOf) ?? whereKernel(cond, a, b, dataOf), a.dtype);
    },
    reduce(op, x, axes, resultDtype) {
      const run = ([v]: readonly View[]) => reduceWasm(op, v, axes, dataOf) ?? reduceKernel(op, v, axes, dataOf);
      // A half x with resultDtype float32: the float32 kernel's result, not rounded.
      if (resultDtype === 'float32' && isHalf(x.dtype)) return wrap(widened([x], run, dataOf, false), 'float32');
      return wrap(inFloat32([x], run), x.dtype);
    },
    argReduce(op, x, axis) {
      return wrap(inFloat32([x], ([v]) => argReduceWasm(op, v, axis, dataOf) ?? argReduceKernel(op, v, axis, dataOf)), 'int32');
    },
    matmul(a, b, addend) {
      // Half operands: float32 products and sums (the float32 kernels), one rounding per output element,
      // after the addend is added in float32 (the store into the float32 result rounds the sum).
      const views = addend ? [a, b, addend] : [a, b];
      return wrap(
        inFloat32(views, ([va, vb, vc]) => {
          const out = matmulWasm(va, vb, dataOf) ?? matmulKernel(va, vb, dataOf);
          if (vc) addInto(out, vc, dataOf(vc));
          return out;
        }),
        a.dtype,
      );
    },
    copy(src, dst) {
      if (!copyWasm(src, dst, dataOf)) copyKernel(src, dst, dataOf);
    },
    cast(x, dtype) {
      const out = takeArray(dtype, numel(x.shape), { zero: false });
      const storage = wrap(out, dtype);
      const dst = { storage, dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 };
      // To its own dtype (a contiguous copy: clone, reshape of a view) in the kernels' memory where it
      // can. Otherwise copyKernel converts: float -> int32 truncates toward zero, with PyTorch on
      // x86's INT32_MIN for NaN, ±inf and out of range; it rounds into and widens out of float16 and bfloat16.
      if (x.dtype !== dtype || !copyWasm(x, dst, dataOf)) copyKernel(x, dst, dataOf);
      return storage;
    },
    gather(x, dim, index) {
      return wrap(gatherWasm(x, dim, index, dataOf) ?? gatherKernel(x, dim, index, dataOf), x.dtype);
    },
    scatterAdd(dst, dim, index, src) {
      const add = (d: View, s: View) => {
        if (!scatterAddWasm(d, dim, index, s, dataOf)) scatterAddKernel(d, dim, index, s, dataOf);
      };
      if (!isHalf(dst.dtype)) return add(dst, src);
      // Sums in float32, then each destination element rounded once, as PyTorch's CPU scatter_add_.
      const temps: Float32Array[] = [];
      try {
        const wide = widenView(dst, dataOf, temps);
        add(wide, widenView(src, dataOf, temps));
        copyKernel(wide, dst, dataOf);
      } finally {
        for (const t of temps) giveArray('float32', t);
      }
    },
    cumsum(x, axis, reverse) {
      return wrap(inFloat32([x], ([v]) => cumsumKernel(v, axis, reverse, dataOf)), x.dtype);
    },
    sort(x, axis, descending) {
      return wrap(inFloat32([x], ([v]) => sortKernel(v, axis, descending, dataOf)), 'int32');
    },
    runProgram(program, items) {
      if (!items.some((item) => Object.values(item.streams).some((v) => isHalf(v.dtype)))) return runProgramKernel(program, items, dataOf);
      return runHalfProgram(program, items, (wide) => runProgramKernel(program, wide, dataOf), dataOf);
    },
    // The float64 reference kernels run only where the WebAssembly ones cannot: turned off between a
    // forward and its backward, or out of memory.
    attention(inputs, opts) {
      const { output, logsumexp } = attentionWasm(inputs, opts, dataOf) ?? attentionKernel(inputs, opts, dataOf);
      const dtype = inputs.query.dtype;
      return { output: wrap(output, dtype), logsumexp: wrap(logsumexp, dtype) };
    },
    attentionBackward(inputs, saved, opts) {
      const g = attentionBackwardWasm(inputs, saved, opts, dataOf) ?? attentionBackwardKernel(inputs, saved, opts, dataOf);
      const dtype = inputs.query.dtype;
      return { query: wrap(g.query, dtype), key: wrap(g.key, dtype), value: wrap(g.value, dtype) };
    },
    // float32 in WebAssembly SIMD, float64 (and float32 without the kernels) in the reference kernels.
    layerNorm(inputs, eps) {
      if (isHalf(inputs.x.dtype)) throw new Error(`cpu layerNorm: ${inputs.x.dtype} input; compute it in float32 (F.layerNorm does)`);
      const { output, mean, rstd } = layerNormWasm(inputs, eps, dataOf) ?? layerNormKernel(inputs, eps, dataOf);
      const dtype = inputs.x.dtype;
      return { output: wrap(output, dtype), mean: wrap(mean, dtype), rstd: wrap(rstd, dtype) };
    },
    layerNormBackward(inputs, saved, needs) {
      if (isHalf(inputs.x.dtype)) throw new Error(`cpu layerNormBackward: ${inputs.x.dtype} input; compute it in float32 (F.layerNorm does)`);
      const g = layerNormBackwardWasm(inputs, saved, needs, dataOf) ?? layerNormBackwardKernel(inputs, saved, needs, dataOf);
      const dtype = inputs.x.dtype;
      const wrapped = (a: TypedArray | null) => (a ? wrap(a, dtype) : null);
      return { input: wrapped(g.input), weight: wrapped(g.weight), bias: wrapped(g.bias) };
    },
  };
}
