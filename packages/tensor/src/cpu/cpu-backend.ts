import { BACKEND_API_VERSION, type Backend, type Storage, type View } from '../backend.js';
import { dtypeOfTyped, toTyped, type DType, type TypedArray } from '../dtype.js';
import { attentionBackwardKernel, attentionKernel } from './attention.js';
import { giveArray, takeArray } from './buffer-pool.js';
import { contiguousStrides, numel } from '../shape.js';
import { copyKernel, elementwiseKernel, whereKernel } from './elementwise.js';
import { gatherKernel, scatterAddKernel } from './gather.js';
import { matmulKernel } from './matmul.js';
import { runProgramKernel } from './program.js';
import { cumsumKernel } from './scan.js';
import { sortKernel } from './sort.js';
import { CPU_ATTENTION_MAX_HEAD_DIM, attentionBackwardWasm, attentionWasm } from './wasm/attention.js';
import { elementwiseWasm, whereWasm } from './wasm/elementwise.js';
import { gatherWasm, scatterAddWasm } from './wasm/gather.js';
import { matmulWasm } from './wasm/matmul.js';
import { argReduceWasm, reduceWasm } from './wasm/reduce.js';
import { wasmKernels } from './wasm/runtime.js';
import { argReduceKernel, reduceKernel } from './reduce.js';

/**
 * CPU storage: a typed array of the storage's dtype, which the storage owns. Once released (`free`,
 * from `dispose()` or a `scope()`), its array goes back to the buffer pool and any use is an Error.
 * @example
 * const s = new CpuStorage(Float32Array.of(1, 2, 3), 'float32');
 * s.data // Float32Array [1, 2, 3]
 */
export class CpuStorage implements Storage {
  readonly device = 'cpu';
  private array: TypedArray | null;
  readonly size: number;
  constructor(
    data: TypedArray,
    readonly dtype: DType,
  ) {
    this.array = data;
    this.size = data.length;
  }
  /**
   * The typed array (an Error once the storage is released).
   * @example
   * (randn([3]).storage as CpuStorage).data // Float32Array(3)
   */
  get data(): TypedArray {
    if (!this.array) throw new Error('cpu backend: this tensor was freed (dispose) and cannot be used');
    return this.array;
  }
  /**
   * True after `release()` (from `dispose()` or a `scope()`).
   * @example
   * const x = randn([3]);
   * x.dispose();
   * (x.storage as CpuStorage).released // true
   */
  get released(): boolean {
    return this.array === null;
  }
  /**
   * Marks the storage freed and returns its array (for the pool), or null if already freed.
   * @example
   * const array = storage.release(); // the pool takes the array; the storage is now unusable
   */
  release(): TypedArray | null {
    const a = this.array;
    this.array = null;
    return a;
  }
}

function dataOf(v: View | Storage): TypedArray {
  const s = 'storage' in v ? v.storage : v;
  if (!(s instanceof CpuStorage)) {
    throw new Error(`cpu backend: got storage of device '${s.device}'; move the tensor to 'cpu' first`);
  }
  return s.data;
}

function wrap(data: TypedArray, dtype: DType): CpuStorage {
  return new CpuStorage(data, dtype);
}

/**
 * The CPU backend: typed arrays, float64 everywhere, float32 results rounded to float32 at every store.
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
      syncRead: true,
      // A getter: `setCpuKernels({ wasm })` switches the fused attention with the kernels.
      get fusedAttentionMaxHeadDim() {
        return wasmKernels() ? CPU_ATTENTION_MAX_HEAD_DIM : undefined;
      },
    },
    fromData(data, dtype) {
      if (dtypeOfTyped(data) !== dtype) return wrap(toTyped(dtype, data), dtype);
      const copy = takeArray(dtype, data.length, { zero: false });
      copy.set(data as ArrayLike<number>);
      return wrap(copy, dtype);
    },
    full(size, value, dtype) {
      const a = takeArray(dtype, size);
      if (value !== 0) a.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
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
      if (a) giveArray(storage.dtype, a);
    },
    elementwise(kernel, inputs) {
      const out = elementwiseWasm(kernel, inputs, dataOf) ?? elementwiseKernel(kernel, inputs, dataOf);
      return wrap(out, kernel.resultDtype === 'bool' ? 'bool' : inputs[0].dtype);
    },
    ternary(_op, cond, a, b) {
      return wrap(whereWasm(cond, a, b, dataOf) ?? whereKernel(cond, a, b, dataOf), a.dtype);
    },
    reduce(op, x, axes) {
      return wrap(reduceWasm(op, x, axes, dataOf) ?? reduceKernel(op, x, axes, dataOf), x.dtype);
    },
    argReduce(op, x, axis) {
      return wrap(argReduceWasm(op, x, axis, dataOf) ?? argReduceKernel(op, x, axis, dataOf), 'int32');
    },
    matmul(a, b) {
      return wrap(matmulWasm(a, b, dataOf) ?? matmulKernel(a, b, dataOf), a.dtype);
    },
    copy(src, dst) {
      copyKernel(src, dst, dataOf);
    },
    cast(x, dtype) {
      const out = takeArray(dtype, numel(x.shape), { zero: false });
      const storage = wrap(out, dtype);
      // Stores into an Int32Array truncate toward zero, as PyTorch's float -> int cast does.
      copyKernel(x, { storage, dtype, shape: x.shape, strides: contiguousStrides(x.shape), offset: 0 }, dataOf);
      return storage;
    },
    gather(x, dim, index) {
      return wrap(gatherWasm(x, dim, index, dataOf) ?? gatherKernel(x, dim, index, dataOf), x.dtype);
    },
    scatterAdd(dst, dim, index, src) {
      if (!scatterAddWasm(dst, dim, index, src, dataOf)) scatterAddKernel(dst, dim, index, src, dataOf);
    },
    cumsum(x, axis, reverse) {
      return wrap(cumsumKernel(x, axis, reverse, dataOf), x.dtype);
    },
    sort(x, axis, descending) {
      return wrap(sortKernel(x, axis, descending, dataOf), 'int32');
    },
    runProgram(program, items) {
      return runProgramKernel(program, items, dataOf);
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
  };
}
