import { describe, expect, it } from 'vitest';
import { AdamW, BatchNorm1d, Linear, ReLU, Sequential, cpuMemoryStats, functional as F, manualSeed, randint, randn, scope, tensor } from 'tsgrad';

describe('CPU backend memory', () => {
  it('an MLP with BatchNorm1d trains 1,000 steps under scope() with no new buffers after warm-up', () => {
    manualSeed(0);
    const model = new Sequential(new Linear(32, 64), new BatchNorm1d(64), new ReLU(), new Linear(64, 4));
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const x = randn([64, 32]);
    const y = randint(0, 4, [64]);
    const samples: { step: number; created: number; pooled: number; wasm: number }[] = [];
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
      if (step === 1) first = loss.item();
      if (step === 1000) last = loss.item();
      loss.dispose();
      if (step % 100 === 0) {
        const s = cpuMemoryStats();
        samples.push({ step, created: s.buffersCreated, pooled: s.bytesPooled, wasm: s.wasmBytes });
      }
    }
    // After the first 100 steps nothing grows: no fresh arrays, the same pooled bytes, the same
    // WebAssembly scratch memory. Every kernel output of a step is a recycled array.
    for (const s of samples.slice(1)) {
      expect(s.created, `arrays created by step ${s.step}`).toBe(samples[0].created);
      expect(s.pooled, `bytes pooled at step ${s.step}`).toBe(samples[0].pooled);
      expect(s.wasm, `wasm memory at step ${s.step}`).toBe(samples[0].wasm);
    }
    expect(cpuMemoryStats().buffersReused).toBeGreaterThan(10_000);
    expect(last).toBeLessThan(first / 10);
  });

  it('a freed CPU tensor is an Error, never recycled garbage', () => {
    const a = tensor([1, 2, 3]);
    let inner = a;
    const kept = scope(() => {
      inner = a.mul(2);
      return a.add(1);
    });
    expect(kept.tolist()).toEqual([2, 3, 4]);
    expect(() => inner.tolist()).toThrow(/this tensor was freed \(dispose\)/);
    expect(() => inner.add(1)).toThrow(/this tensor was freed/);
    // Its array went to the pool: the next output of that size reuses it, and the freed tensor
    // still refuses to read it.
    const next = a.mul(3);
    expect(next.tolist()).toEqual([3, 6, 9]);
    expect(() => inner.tolist()).toThrow(/freed/);
  });
});
