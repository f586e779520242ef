import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, keep, multinomial, scope } from '@tsgrad/autograd';
import { attentionOpCases, checkAttentionOpCase, expectClose } from '@tsgrad/test-utils';
import { gpu, tensor, values } from './gpu.js';

/**
 * split, chunk, tril, triu, maskedFill, cumsum, sort, argsort and topk on WebGPU in float32 against
 * PyTorch's float64 values and gradients (fixtures/attention-ops.json): the cumsum and sort kernels
 * (shaders/scan.ts, shaders/sort.ts) with ties, NaN, infinities and transposed inputs.
 */
const rows = attentionOpCases().map((c) => [`${c.op}: ${c.note}`, c] as const);

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('attention ops against PyTorch, WebGPU float32', () => {
  it.each(rows)('%s', async (_, c) => {
    await checkAttentionOpCase(c, { dtype: 'float32', device: 'webgpu', rtol: 1e-5, atol: 1e-6 });
  });
});

describe('sort and cumsum kernels on long lines, against the CPU', () => {
  it('sort, argsort, topk of 3 rows of 3000 with ties, NaN and infinities, both directions', async () => {
    const g = new Generator(5);
    const n = 3000;
    const data = Array.from({ length: 3 * n }, (_, i) => (i % 97 === 0 ? NaN : i % 89 === 0 ? -Infinity : Math.round(g.normal() * 20) / 4));
    const cpu = tensor(data, { dtype: 'float32' }).reshape([3, n]);
    const dev = cpu.to('webgpu');
    for (const descending of [false, true]) {
      const want = cpu.sort(-1, { descending, stable: true });
      const got = dev.sort(-1, { descending, stable: true });
      expect(Array.from(await got.indices.data())).toEqual(Array.from(want.indices.dataSync()));
      expectClose(await values(got.values), Array.from(want.values.dataSync(), Number), { rtol: 0, atol: 0 });
    }
    const top = dev.t().contiguous().t().topk(7, 1, { largest: false });
    expect(Array.from(await top.indices.data())).toEqual(Array.from(cpu.topk(7, 1, { largest: false }).indices.dataSync()));
  });

  it('sort of int32 and bool, along dim 0 of a transposed view', async () => {
    const ints = tensor([[3, -1, 3], [0, 7, -1], [3, 2, 2]], { dtype: 'int32' }).t();
    expect(await ints.to('webgpu').argsort(0, { descending: true }).array()).toEqual(ints.argsort(0, { descending: true }).tolist());
    const flags = tensor([true, false, true, false, false]);
    expect(await flags.to('webgpu').argsort().array()).toEqual([1, 3, 4, 0, 2]);
  });

  it('cumsum of 4 lines of 5000 (float32 to float32 precision of the float64 sum) and of int32', async () => {
    const g = new Generator(9);
    const x = tensor(Array.from({ length: 4 * 5000 }, () => g.normal()), { dtype: 'float64' }).reshape([4, 5000]);
    const got = await values(x.to('float32').to('webgpu').cumsum(1));
    expectClose(got, Array.from(x.cumsum(1).dataSync(), Number), { rtol: 1e-4, atol: 1e-3 });
    const ints = tensor([[1, -2, 3], [4, 5, -6]], { dtype: 'int32' });
    expect(await ints.to('webgpu').cumsum(0).array()).toEqual([[1, -2, 3], [5, 3, -3]]);
  });
});

describe('multinomial on WebGPU', () => {
  it('the same Generator seed gives the same samples as on the CPU, with and without replacement', async () => {
    const g = new Generator(4);
    const weights = tensor(Array.from({ length: 6 * 40 }, (_, i) => (i % 7 === 0 ? 0 : g.random())), { dtype: 'float32' }).reshape([6, 40]);
    for (const replacement of [true, false]) {
      const want = multinomial(weights, 25, { replacement, generator: new Generator(31) });
      const got = multinomial(weights.to('webgpu'), 25, { replacement, generator: new Generator(31) });
      expect(got.device).toBe('webgpu');
      expect(await got.array()).toEqual(want.tolist());
    }
  });
});

describe('tril on WebGPU inside scopes', () => {
  it('the cached mask outlives the scope that made it', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' }).to('webgpu');
    for (let step = 0; step < 3; step++) {
      const y = scope(() => keep(x.tril(1).mul(2)));
      expect(await y.array()).toEqual([[2, 4, 0], [8, 10, 12]]);
    }
  });
});
