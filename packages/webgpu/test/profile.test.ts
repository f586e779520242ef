import { describe, expect, it } from 'vitest';
import { manualSeed, randn } from '@tsgrad/autograd';
import { Adam } from '@tsgrad/optim';
import { gpu } from './gpu.js';

/**
 * backend.profile(): each kernel's GPU time from timestamp queries (SwiftShader has the feature too),
 * one row per op with its number of kernels, longest first; the result of the profiled function
 * comes back with it, and profiling leaves the numbers unchanged.
 */
describe('webgpu profile()', () => {
  it('counts every kernel of a training step by op, with GPU times', async () => {
    const backend = await gpu();
    expect(backend.gpu.features.has('timestamp-query')).toBe(true);
    manualSeed(0);
    const w = randn([256, 256]).to('webgpu').requiresGrad_();
    const x = randn([64, 256]).to('webgpu');
    const opt = new Adam([w], { lr: 1e-3 });
    const step = () => {
      opt.zeroGrad();
      const loss = x.matmul(w).relu().sum();
      loss.backward();
      opt.step();
      return loss;
    };
    const before = backend.stats().dispatches;
    const { result, kernels, totalMs } = await backend.profile(step);
    const dispatched = backend.stats().dispatches - before;
    expect(typeof (await result.data())[0]).toBe('number');
    // Every dispatch of the step is in the table, once.
    expect(kernels.reduce((n, k) => n + k.calls, 0)).toBe(dispatched);
    const ops = new Map(kernels.map((k) => [k.op, k]));
    expect(ops.get('matmul')?.calls).toBe(2); // forward, and the weight gradient (x needs none)
    expect(ops.get('program adam')?.calls).toBe(1);
    expect(ops.has('relu')).toBe(true);
    expect(ops.has('sum')).toBe(true);
    for (const k of kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    expect(totalMs).toBeGreaterThan(0);
    expect(totalMs).toBeCloseTo(kernels.reduce((t, k) => t + k.ms, 0), 9);
    // Longest first.
    for (let i = 1; i < kernels.length; i++) expect(kernels[i - 1].ms).toBeGreaterThanOrEqual(kernels[i].ms);
  });

  it('profiles longer than one batch of commands, and an async function', async () => {
    const backend = await gpu();
    const a = randn([32, 32]).to('webgpu');
    const { kernels } = await backend.profile(async () => {
      let y = a;
      for (let i = 0; i < 300; i++) y = y.add(1); // past 128 dispatches per submit: several query batches
      return y.data();
    });
    expect(kernels.find((k) => k.op === 'add')?.calls).toBe(300);
  });

  it('profiles do not nest', async () => {
    const backend = await gpu();
    await expect(backend.profile(() => backend.profile(() => 1))).rejects.toThrow(/a profile is already running/);
    // And the device still works.
    expect(Array.from(await randn([2]).to('webgpu').mul(0).add(1).data())).toEqual([1, 1]);
  });
});
