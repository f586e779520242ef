import { describe, expect, it } from 'vitest';
import { keep, manualSeed, noGrad, randn, scope, type Tensor } from '@tsgrad/autograd';
import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
import { Dropout, Flatten, Linear, Module, MultiheadAttention, ReLU, Sequential, TransformerEncoderLayer } from '@tsgrad/nn';

// The composite layers free their temporaries when they return (each residual block, and the
// attention, in a scope of its own), as Python frees a function's locals: a forward pass through a
// stack of them peaks at what its graph keeps for backward plus one block's temporaries. Before, every
// temporary lived until the caller's scope ended, so the excess over the kept bytes grew with depth
// (the bench GPT's 4-layer step peaked at 63.8 MB instead of 40.1 MB on the CPU).

const E = 32;
const [N, L] = [4, 16];

/**
 * The stack's output, each layer's input let go once the next layer has returned, as a Python loop
 * `h = layer(h)` drops it (post-LN keeps no reference to a layer's input; pre-LN's norm keeps it).
 */
function throughStack(layers: readonly TransformerEncoderLayer[], x: Tensor): Tensor {
  return layers.reduce((h, layer) => {
    const next = layer.forward(h);
    if (h !== x) h.dispose();
    return next;
  }, x);
}

/** Bytes in use at the end of a scoped forward (what the graph keeps) and its peak, above `base`. */
function forwardMemory(layers: readonly TransformerEncoderLayer[], x: Tensor): { kept: number; peak: number } {
  const base = cpuMemoryStats().bytesInUse;
  resetCpuPeak();
  let kept = 0;
  scope(() => {
    const y = scope(() => throughStack(layers, x).sum());
    kept = cpuMemoryStats().bytesInUse - base;
    y.backward();
  });
  return { kept, peak: cpuMemoryStats().peakBytesInUse - base };
}

/** The forward's excess over what it keeps: its temporaries live at once. */
function forwardExcess(layers: readonly TransformerEncoderLayer[], x: Tensor): number {
  const base = cpuMemoryStats().bytesInUse;
  resetCpuPeak();
  let excess = 0;
  scope(() => {
    const y = scope(() => throughStack(layers, x));
    excess = cpuMemoryStats().peakBytesInUse - cpuMemoryStats().bytesInUse;
    return y;
  }).dispose();
  expect(cpuMemoryStats().bytesInUse).toBe(base);
  return excess;
}

describe('composite layers free their temporaries when they return', () => {
  for (const normFirst of [true, false]) {
    it(`TransformerEncoderLayer (normFirst ${normFirst}): a 4-layer forward's temporaries are one layer's, not four`, () => {
      manualSeed(0);
      const make = () => new TransformerEncoderLayer(E, 4, { dimFeedforward: 4 * E, dropout: 0, batchFirst: true, normFirst, activation: 'gelu' });
      const stack = [make(), make(), make(), make()];
      const x = randn([N, L, E], { requiresGrad: true });
      const one = forwardExcess(stack.slice(0, 1), x);
      const four = forwardExcess(stack, x);
      // One layer's temporaries (at least one activation: a block's output before its residual
      // add), and in the stack the last layer's input, dropped after it (the single layer's input
      // was live before). Before, four layers' excess was about four times one layer's.
      const activation = N * L * E * 4;
      expect(one).toBeGreaterThanOrEqual(activation);
      expect(four).toBeLessThanOrEqual(one + activation);
      // The graph keeps as much per layer as before: depth adds kept bytes, not transients.
      const m1 = forwardMemory(stack.slice(0, 1), x);
      const m4 = forwardMemory(stack, x);
      expect(m4.kept).toBeGreaterThan(3.9 * m1.kept);
      expect(m4.peak - m4.kept).toBeLessThan(m4.kept);
    });
  }

  it('TransformerEncoderLayer under noGrad leaves only its output in use', () => {
    manualSeed(1);
    const layer = new TransformerEncoderLayer(E, 4, { dimFeedforward: 4 * E, dropout: 0 });
    const x = randn([L, N, E]);
    const base = cpuMemoryStats().bytesInUse;
    scope(() =>
      noGrad(() => {
        const y = layer.forward(x);
        expect(cpuMemoryStats().bytesInUse - base).toBe(y.numel() * 4);
      }),
    );
    expect(cpuMemoryStats().bytesInUse).toBe(base);
  });

  for (const needWeights of [false, true]) {
    it(`MultiheadAttention (needWeights ${needWeights}) under noGrad leaves only what it returns in use`, () => {
      manualSeed(2);
      const mha = new MultiheadAttention(E, 4, { batchFirst: true });
      const [q, kv] = [randn([N, L, E]), randn([N, L + 3, E])];
      const base = cpuMemoryStats().bytesInUse;
      scope(() =>
        noGrad(() => {
          const [y, w] = mha.forward(q, kv, kv, { needWeights });
          // Averaged weights [N, L, S]; the per-head ones, the projections and the heads' copies are freed.
          expect(cpuMemoryStats().bytesInUse - base).toBe((y.numel() + (w?.numel() ?? 0)) * 4);
          expect(w === null).toBe(!needWeights);
        }),
      );
      expect(cpuMemoryStats().bytesInUse).toBe(base);
    });
  }

  it('Sequential under noGrad leaves only its output in use, whatever its depth', () => {
    manualSeed(3);
    const x = randn([N, E]);
    for (const depth of [1, 4]) {
      const seq = new Sequential(...Array.from({ length: depth }, () => [new Linear(E, E), new ReLU()]).flat());
      const base = cpuMemoryStats().bytesInUse;
      scope(() =>
        noGrad(() => {
          const y = seq.forward(x);
          expect(cpuMemoryStats().bytesInUse - base).toBe(y.numel() * 4);
        }),
      );
      expect(cpuMemoryStats().bytesInUse).toBe(base);
    }
  });

  it('Sequential: a module returning its input (Dropout in eval) or a view of it (Flatten) keeps it; values and gradients are the chain written out', () => {
    manualSeed(4);
    const modules: Module[] = [new Linear(E, E), new Dropout(0.5).eval(), new ReLU(), new Flatten(0), new Dropout(0), new Linear(N * E, 3), new Flatten(0)];
    const seq = new Sequential(...modules);
    const x = randn([N, E], { requiresGrad: true });
    const byHand = modules.reduce((h, m) => m.forward(h), x);
    const [yHand, gHand] = [byHand.dataSync(), (byHand.sum().backward(), x.grad!.dataSync())];
    x.grad = null;
    const base = cpuMemoryStats().bytesInUse;
    const [y, g] = scope(() => {
      const out = seq.forward(x);
      const values = out.dataSync();
      out.sum().backward();
      return [values, x.grad!.dataSync()];
    });
    expect(y).toEqual(yHand);
    expect(g).toEqual(gHand);
    // Nothing of the forward stays: only x's new gradient (the parameters' were accumulated into).
    expect(cpuMemoryStats().bytesInUse - base).toBe(x.grad!.numel() * 4);
  });

  it("a module's keep() inside nested Sequentials means what it means without them; outside every scope a stash needs none", () => {
    class Stash extends Module {
      last: Tensor | null = null;
      constructor(private readonly useKeep: boolean) {
        super();
      }
      override forward(x: Tensor): Tensor {
        const y = x.relu();
        this.last = this.useKeep ? keep(y) : y;
        return y.mul(2);
      }
    }
    manualSeed(5);
    const x = randn([2, E]);
    const kept = new Stash(true);
    const inner = new Linear(E, E);
    const model = new Sequential(new Sequential(inner, kept), new ReLU(), new Linear(E, E));
    scope(() => noGrad(() => model.forward(x)));
    // Kept in the user's scope, so it outlives it (as keep() does with no Sequential around).
    expect(Array.from(kept.last!.dataSync())).toEqual(Array.from(inner.forward(x).relu().dataSync()));
    const stashed = new Stash(false);
    const plain = new Sequential(new Sequential(inner, stashed), new ReLU());
    noGrad(() => plain.forward(x));
    expect(Array.from(stashed.last!.dataSync())).toEqual(Array.from(inner.forward(x).relu().dataSync()));
  });
});
