import type { Storage } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';

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
