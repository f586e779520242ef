import { describe, expect, it } from 'vitest';
import { contiguousStrides, erf, forwardKernel, getBackend, registerBackend, unregisterBackend, listDevices, type Backend, type DType, type View } from '@tsgrad/tensor';

const cpu = getBackend('cpu');

function view(data: number[] | Float64Array, shape: number[], dtype: DType = 'float64', strides = contiguousStrides(shape), offset = 0): View {
  const storage = cpu.fromData(Float64Array.from(data), dtype);
  return { storage, dtype, shape, strides, offset };
}

function read(s: ReturnType<Backend['elementwise']>): number[] {
  return Array.from(cpu.readSync!(s, 0, s.size));
}

/** Deterministic pseudo-random values (a small LCG) so the test needs nothing else. */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

/** The naive float64 triple loop over strided operands: the independent reference. */
function naiveMatmul(a: View, b: View, ad: Float64Array, bd: Float64Array): Float64Array {
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  const out = new Float64Array(B * M * N);
  for (let z = 0; z < B; z++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += ad[a.offset + z * a.strides[0] + i * a.strides[1] + k * a.strides[2]] * bd[b.offset + z * b.strides[0] + k * b.strides[1] + j * b.strides[2]];
        }
        out[(z * M + i) * N + j] = s;
      }
  return out;
}

describe('CPU matmul (packed, blocked) equals a naive float64 loop', () => {
  const cases = [
    { name: 'small', B: 1, M: 3, K: 4, N: 5, ta: false, tb: false },
    { name: 'K and N beyond one block', B: 2, M: 5, K: 300, N: 600, ta: false, tb: false },
    { name: 'A transposed', B: 1, M: 7, K: 130, N: 9, ta: true, tb: false },
    { name: 'B transposed', B: 2, M: 6, K: 11, N: 515, ta: false, tb: true },
    { name: 'both transposed, odd K', B: 1, M: 4, K: 129, N: 3, ta: true, tb: true },
  ];
  it.each(cases)('$name', ({ B, M, K, N, ta, tb }) => {
    const ad = values(B * M * K, 1);
    const bd = values(B * K * N, 2);
    // A transposed operand is stored [B, K, M] and viewed [B, M, K] with swapped strides.
    const a = ta ? view(ad, [B, M, K], 'float64', [M * K, 1, M]) : view(ad, [B, M, K]);
    const b = tb ? view(bd, [B, K, N], 'float64', [K * N, 1, K]) : view(bd, [B, K, N]);
    const got = read(cpu.matmul(a, b));
    const want = naiveMatmul(a, b, ad, bd);
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[i]))));
  });

  it('broadcasts a stride-0 batch and computes float32 in float32', () => {
    const ad = values(6, 3);
    const bd = values(6, 4);
    const a = view(ad, [3, 1, 2], 'float64', [0, 2, 1]);
    const b = view(bd, [3, 2, 3], 'float64', [0, 3, 1]);
    const want = naiveMatmul(a, b, ad, bd);
    expect(read(cpu.matmul(a, b))).toEqual(Array.from(want));
    const a32 = view(ad, [3, 1, 2], 'float32', [0, 2, 1]);
    const b32 = view(bd, [3, 2, 3], 'float32', [0, 3, 1]);
    const out32 = cpu.matmul(a32, b32);
    expect(out32.dtype).toBe('float32');
    read(out32).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
  });
});

describe('CPU kernels on strided views', () => {
  it('reduces over any axes of a transposed view', () => {
    const x = view([1, 2, 3, 4, 5, 6], [3, 2], 'float64', [1, 3]); // [[1,4],[2,5],[3,6]]
    expect(read(cpu.reduce('sum', x, [0]))).toEqual([6, 15]);
    expect(read(cpu.reduce('max', x, [1]))).toEqual([4, 5, 6]);
    expect(read(cpu.reduce('min', x, [0, 1]))).toEqual([1]);
    expect(read(cpu.argReduce('argmax', x, 0))).toEqual([2, 2]);
  });

  it('propagates NaN through max and argmax, as PyTorch', () => {
    const x = view([1, NaN, 3], [3]);
    expect(read(cpu.reduce('max', x, [0]))).toEqual([NaN]);
    expect(read(cpu.argReduce('argmax', x, 0))).toEqual([1]);
    expect(read(cpu.elementwise(forwardKernel('maximum'), [view([NaN, 1], [2]), view([0, NaN], [2])]))).toEqual([NaN, NaN]);
  });

  it('copies into a strided window (the basis of in-place ops and cat)', () => {
    const dst = view([0, 0, 0, 0, 0, 0], [2, 3]);
    const col = { ...dst, shape: [2], strides: [3], offset: 1 };
    cpu.copy(view([7, 8], [2]), col);
    expect(read(dst.storage)).toEqual([0, 7, 0, 0, 8, 0]);
  });

  // Rows of 32 or more contiguous elements are copied with one memcpy each; shorter ones element by
  // element. Both against index arithmetic: a permute of [2, 3, 5, L] to [2, 5, 3, L] into a
  // contiguous array, and into every other row of a larger one (a strided destination).
  it.each(['float32', 'float64', 'int32'] as const)('copies permuted rows of 31, 32 and 40 elements (%s)', (dtype) => {
    for (const L of [31, 32, 40]) {
      const n = 2 * 3 * 5 * L;
      const data = Array.from({ length: n }, (_, i) => i - 100);
      const src = view(data, [2, 5, 3, L], dtype, [15 * L, L, 5 * L, 1]);
      const want = new Array<number>(n);
      for (let a = 0; a < 2; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 3; c++) for (let l = 0; l < L; l++) {
        want[((a * 5 + b) * 3 + c) * L + l] = data[a * 15 * L + c * 5 * L + b * L + l];
      }
      const dense = view(new Array<number>(n).fill(0), [2, 5, 3, L], dtype);
      cpu.copy(src, dense);
      expect(read(dense.storage)).toEqual(want);
      const wide = view(new Array<number>(2 * n).fill(0), [2, 5, 3, 2 * L], dtype);
      cpu.copy(src, { ...wide, shape: [2, 5, 3, L], offset: L });
      const got = read(wide.storage);
      for (let r = 0; r < 30; r++) {
        expect(got.slice(2 * r * L, 2 * r * L + L)).toEqual(new Array<number>(L).fill(0));
        expect(got.slice(2 * r * L + L, 2 * r * L + 2 * L)).toEqual(want.slice(r * L, r * L + L));
      }
    }
  });

  it('gathers and scatter-adds with bounds checks', () => {
    const x = view([10, 20, 30], [3]);
    const idx = view([2, 0, 2], [3], 'int32');
    expect(read(cpu.gather(x, 0, idx))).toEqual([30, 10, 30]);
    const acc = view([0, 0, 0], [3]);
    cpu.scatterAdd(acc, 0, idx, view([1, 2, 3], [3]));
    expect(read(acc.storage)).toEqual([2, 0, 4]);
    expect(() => cpu.gather(x, 0, view([3], [1], 'int32'))).toThrow('gather: index 3 is out of bounds for dimension 0 with size 3');
  });

  it('casts float to int32 by truncation toward zero and anything to bool by != 0', () => {
    expect(read(cpu.cast(view([1.7, -1.7, 0.2], [3]), 'int32'))).toEqual([1, -1, 0]);
    expect(read(cpu.cast(view([0, -0.5, 2], [3]), 'bool'))).toEqual([0, 1, 1]);
  });
});

describe('erf', () => {
  it('matches high-precision values across both branches', () => {
    // Reference values (Abramowitz & Stegun; computed to 16+ digits).
    const ref: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3.5, 0.9999992569016276],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, want] of ref) expect(Math.abs(erf(x) - want)).toBeLessThan(2e-16 * 4);
  });
});

describe('backend registry', () => {
  it('lists devices, rejects unknown ones helpfully, and lives on a global symbol', () => {
    expect(listDevices()).toContain('cpu');
    expect(() => getBackend('webgpu')).toThrow(/Unknown device 'webgpu' \(call `await initWebGPU\(\)`/);
    const fake: Backend = { ...cpu, device: 'fake' };
    registerBackend(fake);
    const registry = (globalThis as Record<symbol, Map<string, Backend>>)[Symbol.for('tsgrad.backendRegistry.v1')];
    expect(registry.get('fake')).toBe(fake);
    unregisterBackend('fake');
    expect(listDevices()).not.toContain('fake');
  });

  it('refuses a backend of another API version (it might ignore an argument, such as matmul\'s addend)', () => {
    const old = { ...cpu, device: 'old', apiVersion: 4 } as unknown as Backend;
    expect(() => registerBackend(old)).toThrow(/registerBackend: backend 'old' implements Backend API version 4, this @tsgrad\/tensor needs 5/);
    expect(listDevices()).not.toContain('old');
  });
});
