import { manualSeed, noGrad, randint } from '@tsgrad/autograd';
import { describe, expect, it } from 'vitest';
import { BenchGPT, GPT_CONFIG, gptCase, gptRatios, tsgradGptParams, tsgradGptStep, type GptConfig } from '../src/gpt.js';

/**
 * nanoGPT's parameter count, written out (the bias-free head is the token embedding: counted once).
 * Per block: attention in_proj 3C² + 3C and out_proj C² + C, the MLP 4C² + 4C and 4C² + C, two
 * LayerNorms 2C each; so 12C² + 13C.
 */
function nanoGptParams({ vocab: V, layers: L, dim: C, block: T }: GptConfig): number {
  return V * C + T * C + L * (3 * C * C + 3 * C + C * C + C + 4 * C * C + 4 * C + 4 * C * C + C + 4 * C) + 2 * C;
}

describe('the bench GPT (src/gpt.ts)', () => {
  it("has nanoGPT's parameter count, the one scripts/bench_torch.py's torch.nn model reports (809,856)", () => {
    expect(tsgradGptParams()).toBe(nanoGptParams(GPT_CONFIG));
    // Printed by bench_torch.py: sum(p.numel() for p in GPTModel(GPT).parameters()) with torch 1.13.
    expect(tsgradGptParams()).toBe(809_856);
    const small = { vocab: 11, layers: 2, heads: 2, dim: 8, block: 5, batch: 3 };
    expect(tsgradGptParams(small)).toBe(nanoGptParams(small));
    expect(gptCase()).toBe('GPT 4L 4H 128d T64 B16');
  });

  it('ties the head to the token embedding: one parameter under both names', () => {
    const model = new BenchGPT({ vocab: 11, layers: 1, heads: 2, dim: 8, block: 5, batch: 3 });
    expect(model.head.weight).toBe(model.wte.weight);
    const names = model.namedParameters().map(([n]) => n);
    expect(names).toContain('wte.weight');
    expect(names).not.toContain('head.weight');
  });

  it('is causal: changing a later token leaves the earlier positions’ logits unchanged', () => {
    manualSeed(4);
    const c = { vocab: 11, layers: 2, heads: 2, dim: 8, block: 6, batch: 1 };
    const model = new BenchGPT(c).to('float64');
    const idx = randint(0, c.vocab, [1, c.block], { dtype: 'int32' });
    const changed = idx.clone();
    noGrad(() => changed.narrow(1, 4, 1).fill_((Number(idx.dataSync()[4]) + 1) % c.vocab));
    const [a, b] = noGrad(() => [model.forward(idx), model.forward(changed)]);
    expect(a.shape).toEqual([1, c.block, c.vocab]);
    const before = (t: typeof a) => Array.from(t.narrow(1, 0, 4).dataSync(), Number);
    expect(before(b)).toEqual(before(a));
    expect(Array.from(b.narrow(1, 4, 1).dataSync(), Number)).not.toEqual(Array.from(a.narrow(1, 4, 1).dataSync(), Number));
  });

  it('trains: a few AdamW steps on fixed tokens lower the loss', () => {
    const step = tsgradGptStep('cpu', { vocab: 11, layers: 1, heads: 2, dim: 16, block: 8, batch: 2 });
    const losses = Array.from({ length: 6 }, () => step().item());
    expect(losses[5]).toBeLessThan(losses[0]);
  });

  it('ratios: time over PyTorch per thread count, and the 2-thread speed-up', () => {
    const label = (t: number) => `tsgrad cpu ${t} thread${t > 1 ? 's' : ''}`;
    const row = (impl: string, value: number) => ({ suite: 'gpt step', case: gptCase(), impl, value, unit: 'ms/step' });
    const rows = [row(label(1), 500), row(label(2), 300), row('PyTorch 1.13.0a0 reference BLAS 1 thread', 200), row('PyTorch 1.13.0a0 reference BLAS 2 threads', 150)];
    expect(gptRatios(rows, label).map((r) => [r.impl, r.value])).toEqual([
      ['time: tsgrad cpu 1 thread / PyTorch 1', 2.5],
      ['time: tsgrad cpu 2 threads / PyTorch 2', 2],
      ['speed-up: tsgrad cpu 2 threads over 1', 500 / 300],
    ]);
    expect(gptRatios(rows.slice(0, 2), label).map((r) => r.impl)).toEqual(['speed-up: tsgrad cpu 2 threads over 1']);
  });
});
