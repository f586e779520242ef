import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { keep, manualSeed, randint, randn, scope, type Tensor } from '@tsgrad/autograd';
import { BatchNorm1d, Linear, ReLU, Sequential, copyModule, functional as F, type Module } from '@tsgrad/nn';
import { AdamW } from '@tsgrad/optim';
import type { WebGPUBackend } from '@tsgrad/webgpu';
import { ownershipCases } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

let backend: WebGPUBackend;
beforeAll(async () => {
  backend = await gpu();
}, 60_000);

describe('webgpu memory', () => {
  it('an MLP with BatchNorm1d trains 1,000 steps with GPU memory flat after warm-up', async () => {
    manualSeed(0);
    const model = new Sequential(new Linear(8, 16), new BatchNorm1d(16), new ReLU(), new Linear(16, 4)).to('webgpu');
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const x = randn([16, 8]).to('webgpu');
    const y = randint(0, 4, [16]).to('webgpu');
    const samples: { step: number; bytes: number; buffers: number; created: number }[] = [];
    let first = 0;
    let last = 0;
    for (let step = 1; step <= 1000; step++) {
      const loss = scope(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return l;
      });
      if (step === 1) first = (await loss.data())[0];
      if (step === 1000) last = (await loss.data())[0];
      loss.dispose();
      if (step % 100 === 0) {
        const s = backend.stats();
        samples.push({ step, bytes: s.bytesInUse, buffers: s.buffersInUse, created: s.buffersCreated });
      }
    }
    // After warm-up (the first 100 steps), nothing grows: same bytes and buffers in use, no new buffers.
    for (const s of samples.slice(1)) {
      expect(s.bytes, `step ${s.step}`).toBe(samples[0].bytes);
      expect(s.buffers, `step ${s.step}`).toBe(samples[0].buffers);
      expect(s.created, `step ${s.step}`).toBe(samples[0].created);
    }
    expect(last).toBeLessThan(first / 10);
  }, 300_000);

  it('a training step is recorded into few submits (none per freed tensor); trim() submits first', async () => {
    manualSeed(1);
    const model = new Sequential(new Linear(8, 16), new BatchNorm1d(16), new ReLU(), new Linear(16, 4)).to('webgpu');
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const x = randn([16, 8]).to('webgpu');
    const y = randint(0, 4, [16]).to('webgpu');
    const step = () =>
      scope(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        return l;
      });
    await step().data(); // warm: optimizer state exists
    const before = backend.stats();
    const losses = [step(), step(), step()];
    const after = backend.stats();
    const dispatches = after.dispatches - before.dispatches;
    // Three steps free dozens of temporaries (scope) without a single submit for them.
    expect(dispatches).toBeGreaterThan(60);
    expect(after.submits - before.submits).toBeLessThanOrEqual(Math.ceil(dispatches / 128));
    // Trimming the pool while commands that used its buffers are recorded: they are submitted first.
    backend.pool.trim();
    const values = await Promise.all(losses.map((l) => l.data()));
    for (const v of values) expect(Number.isFinite(v[0])).toBe(true);
    expect(values[2][0]).toBeLessThan(values[0][0]);
  });

  it('a kernel that runs again on the same buffers reuses its bind group (its metadata slot is a dynamic offset)', async () => {
    const a = randn([1000]).to('webgpu');
    const b = randn([1000]).to('webgpu');
    a.add(b).dispose(); // the pipeline and its first bind group
    const before = backend.stats();
    for (let i = 0; i < 100; i++) a.add(b).dispose(); // the freed output buffer comes back for the next
    const after = backend.stats();
    expect(after.dispatches - before.dispatches).toBe(100);
    expect(after.bindGroupsCreated - before.bindGroupsCreated).toBeLessThanOrEqual(1);
    // And the reused bind group computes what a fresh one does.
    const [av, bv] = [await a.data(), await b.data()];
    expect(Array.from(await a.add(b).data())).toEqual(Array.from(av, (v, k) => Math.fround(v + bv[k])));
  });

  it('a tensor left to the garbage collector gives its buffer back, counted in buffersCollected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = backend.stats();
    // Eight 4 KB tensors nobody disposes or keeps: only the collector can give their buffers back.
    (() => {
      for (let i = 0; i < 8; i++) randn([1000], { device: 'webgpu' });
    })();
    const made = backend.stats();
    expect(made.bytesInUse - before.bytesInUse).toBe(8 * 4096);
    for (let round = 0; round < 20 && backend.stats().buffersCollected - before.buffersCollected < 8; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 0)); // finalization callbacks run here
    }
    const after = backend.stats();
    expect(after.buffersCollected - before.buffersCollected).toBeGreaterThanOrEqual(8);
    // Their memory is back in the pool (other garbage may come back with it: at most as much in use as before).
    expect(after.bytesInUse).toBeLessThanOrEqual(before.bytesInUse);
    expect(after.buffersPooled - before.buffersPooled).toBeGreaterThanOrEqual(8);
  });

  it('scope keeps what it returns and what is kept, frees the rest; a freed tensor is an error', async () => {
    const a = randn([4]).to('webgpu');
    let inner: Tensor | null = null;
    const kept = scope(() => {
      inner = a.mul(2);
      return { out: a.add(1), kept: keep(a.exp()) };
    });
    expect(Array.from(await kept.out.data())).toHaveLength(4);
    expect(Array.from(await kept.kept.data())).toHaveLength(4);
    await expect(inner!.data()).rejects.toThrow(/this tensor was freed \(dispose\)/);
    expect(() => inner!.add(1)).toThrow(/this tensor was freed/);
    // Tensors from before the scope, and views of them, are never freed by it.
    scope(() => a.reshape([2, 2]).t());
    expect(Array.from(await a.data())).toHaveLength(4);
  });
});

describe('webgpu memory ownership (dispose, scope, modules)', () => {
  const env = { device: 'webgpu', pooled: () => { const s = backend.stats(); return s.buffersPooled - s.buffersCollected; }, makeModule: () => new Linear(4, 3), copyModule: (m: Module) => copyModule(m), moveTarget: 'webgpu' };
  it.each(ownershipCases.map((c) => [c.name, c] as const))('%s', async (_, c) => c.run(env));
});
