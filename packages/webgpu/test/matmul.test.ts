import { beforeAll, describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

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
  ];
  it.each(cases)('$name', async ({ a, b, ta }) => {
    manualSeed(5);
    const A = ta ? randn([a[1], a[0]], { dtype: 'float64' }).t() : randn(a, { dtype: 'float64' });
    const B = randn(b, { dtype: 'float64' });
    const ref = A.matmul(B);
    const gA = ta ? A.t().to('float32').to('webgpu').t() : A.to('float32').to('webgpu');
    const out = gA.matmul(B.to('float32').to('webgpu'));
    expect(out.shape).toEqual(ref.shape);
    expectClose(await values(out), Array.from(ref.dataSync()), { rtol: 1e-4, atol: 1e-4 });
  }, 60_000);
});
