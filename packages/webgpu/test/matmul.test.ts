import { beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';
import { TEST_DRIVERS, testDriver } from './drivers.js';
import { gpu, values } from './gpu.js';
import { WebGPUBackend } from '@tsgrad/webgpu';

beforeAll(async () => {
  await gpu();
}, 60_000);

/** Sizes above the small-matrix path: the vec4 tiled kernel, the scalar tiled one, batches and edges. */
describe('webgpu matmul paths against the CPU float64 reference', () => {
  const cases = [
    { name: 'vec4 tiles (K, N divisible by 4)', a: [70, 96], b: [96, 52] },
    { name: 'scalar tiles (N odd)', a: [40, 50], b: [50, 61] },
    { name: 'transposed A (strided: scalar tiles)', a: [64, 36], b: [36, 40], ta: true },
    { name: 'batched vec4', a: [3, 33, 64], b: [3, 64, 36] },
    { name: 'broadcast batch', a: [2, 40, 32], b: [32, 48] },
    { name: 'vec4, every tile interior (no bounds checks)', a: [64, 96], b: [96, 128] },
    { name: 'vec4, interior tiles and ragged edges, K past one tile', a: [100, 76], b: [76, 68] },
    { name: 'large transposed A: copied to row-major, then vec4', a: [256, 256], b: [256, 128], ta: true },
    { name: 'large transposed B broadcast over a batch: copied once', a: [2, 128, 256], b: [128, 256], tb: true },
  ];
  it.each(cases)('$name', async ({ a, b, ta, tb }) => {
    manualSeed(5);
    const A = ta ? randn([a[1], a[0]], { dtype: 'float64' }).t() : randn(a, { dtype: 'float64' });
    const B = tb ? randn(b, { dtype: 'float64' }).t() : randn(b, { dtype: 'float64' });
    const ref = A.matmul(B);
    // The same layouts on the GPU: transposed views stay transposed views.
    const gA = ta ? A.t().to('float32').to('webgpu').t() : A.to('float32').to('webgpu');
    const gB = tb ? B.t().to('float32').to('webgpu').t() : B.to('float32').to('webgpu');
    const out = gA.matmul(gB);
    expect(out.shape).toEqual(ref.shape);
    expectClose(await values(out), Array.from(ref.dataSync()), { rtol: 1e-4, atol: 1e-4 });
  });
});

describe('webgpu matmul kernel choice', () => {
  it('a large product with a transposed operand copies it once, then runs one vec4 kernel; a small one reads it strided', async () => {
    const backend = await gpu();
    const a = randn([256, 256]).to('webgpu').t();
    const b = randn([256, 128]).to('webgpu');
    const count = (f: () => unknown) => {
      const before = backend.stats().dispatches;
      f();
      return backend.stats().dispatches - before;
    };
    expect(count(() => a.matmul(b))).toBe(2); // copy of Aᵀ + the vec4 kernel
    expect(count(() => a.narrow(0, 0, 32).matmul(b.narrow(1, 0, 32)))).toBe(1); // 32·32·256 multiply-adds: strided, no copy
  });
});

describe('webgpu matmul split-K', () => {
  it.each([
    { name: 'classifier layer: 256×8192 by 8192×12', m: 256, k: 8192, n: 12, kernels: 2 },
    { name: 'vec4 slices: 64×4096 by 4096×64', m: 64, k: 4096, n: 64, kernels: 2 },
    { name: 'transposed B (a weight used as Wᵀ)', m: 128, k: 4096, n: 16, kernels: 3, tb: true },
    { name: 'enough tiles already: no split', m: 512, k: 1024, n: 512, kernels: 1 },
  ])('$name: $kernels kernel(s), CPU float64 to float32 precision', async ({ m, k, n, kernels, tb }) => {
    const backend = await gpu();
    manualSeed(7);
    const A = randn([m, k], { dtype: 'float64' });
    const B = tb ? randn([n, k], { dtype: 'float64' }).t() : randn([k, n], { dtype: 'float64' });
    const ref = A.matmul(B);
    const gA = A.to('float32').to('webgpu');
    const gB = tb ? B.t().to('float32').to('webgpu').t() : B.to('float32').to('webgpu');
    const before = backend.stats().dispatches;
    const out = gA.matmul(gB);
    expect(backend.stats().dispatches - before).toBe(kernels);
    expectClose(await values(out), Array.from(ref.dataSync()), { rtol: 1e-4, atol: 1e-3 });
  });
});

describe('webgpu matmul, 64×64 tiles (8×8 per thread)', () => {
  it.each([
    { name: 'interior tiles, K past several k-tiles with a tail', a: [128, 200], b: [200, 192] },
    { name: 'ragged edges in M, N and K', a: [70, 36], b: [36, 100] },
    { name: 'batched, broadcast B', a: [3, 80, 64], b: [64, 72] },
    { name: 'transposed A (copied to row-major)', a: [256, 256], b: [256, 128], ta: true },
  ])('$name', async ({ a, b, ta }) => {
    const backend = await gpu();
    backend.matmulTile = 64;
    try {
      manualSeed(9);
      const A = ta ? randn([a[1], a[0]], { dtype: 'float64' }).t() : randn(a, { dtype: 'float64' });
      const B = randn(b, { dtype: 'float64' });
      const gA = ta ? A.t().to('float32').to('webgpu').t() : A.to('float32').to('webgpu');
      expectClose(await values(gA.matmul(B.to('float32').to('webgpu'))), Array.from(A.matmul(B).dataSync()), { rtol: 1e-4, atol: 1e-4 });
    } finally {
      backend.matmulTile = 'auto';
    }
  });

  it("knows a software adapter by its description (this project's driver: SwiftShader, lavapipe), which keeps the 64×64 tile in auto", async () => {
    const backend = await gpu();
    const driver = testDriver();
    // On a test driver, the adapter is that driver's; on a caller's own (a real GPU), no claim.
    if (driver) {
      expect(backend.adapterInfo).toMatch(TEST_DRIVERS[driver].adapter);
      expect(backend.softwareAdapter).toBe(true);
    }
    const descriptions: [string, boolean][] = [
      ['google SwiftShader Device (Subzero)', true],
      ['mesa software llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)', true],
      ['nvidia NVIDIA H200', false],
      ['apple metal-3', false],
    ];
    for (const [description, software] of descriptions) {
      expect(new WebGPUBackend(backend.gpu, description, {}, {}, 'packed').softwareAdapter, description).toBe(software);
    }
  });

  it("is what 'auto' picks for a 512×512 product, and gives the 32×32 kernel's numbers to float32 precision", async () => {
    const backend = await gpu();
    manualSeed(10);
    const A = randn([512, 256]).to('webgpu');
    const B = randn([256, 512]).to('webgpu');
    const auto = await values(A.matmul(B));
    backend.matmulTile = 32;
    const small = await values(A.matmul(B));
    backend.matmulTile = 'auto';
    expectClose(auto, small, { rtol: 1e-5, atol: 1e-4 });
  });
});
