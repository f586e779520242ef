import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
import { chain, keep, manualSeed, noGrad, randn, scope, type Tensor } from '@tsgrad/autograd';

/**
 * chain(x, steps) against its definition, nested scopes (`scope(() => f3(scope(() => f2(scope(() =>
 * f1(x))))))`, which overflow the stack past a few thousand steps), and against the plain loop
 * (gradients): the bytes in use after the forward and its peak, step by step.
 */
const inUse = () => cpuMemoryStats().bytesInUse;
const f64 = { dtype: 'float64' } as const;

type Step = (h: Tensor) => Tensor;

/** The reference: each step in a scope around the previous one's (recursion). */
function nested(x: Tensor, steps: readonly Step[]): Tensor {
  const through = (i: number): Tensor => (i < 0 ? x : scope(() => steps[i](through(i - 1))));
  return through(steps.length - 1);
}

describe('chain: nested scopes as a loop', () => {
  const OPS: ((h: Tensor, w: Tensor) => Tensor)[] = [
    (h) => h.exp().mul(0.5), // exp keeps its output, mul by a number nothing: the exp's output stays
    (h, w) => h.mul(w).add(1), // mul keeps h and w; the add's output is the result
    (h) => h.relu(),
    (h) => h.tanh().add(h), // the tanh's output stays, the add's is the result
    (h) => h.t(), // a view of the input
    (h) => h, // the input itself
    (h) => h.reshape([16]).reshape([4, 4]),
    (h, w) => h.matmul(w).mul(0.25),
    (h) => h.sigmoid().detach().add(h), // a detached temporary, freed when the step returns
    (h) => h.clone(),
  ];
  const programArb = fc.record({ ops: fc.array(fc.nat(OPS.length - 1), { minLength: 1, maxLength: 12 }), seed: fc.nat(1000) });

  function run(p: { ops: number[]; seed: number }, how: 'chain' | 'nested' | 'loop') {
    manualSeed(p.seed);
    const [x, w] = [randn([4, 4], { ...f64, requiresGrad: true }), randn([4, 4], { ...f64, requiresGrad: true })];
    const steps = p.ops.map((op) => (h: Tensor) => OPS[op](h, w));
    const base = inUse();
    resetCpuPeak();
    let afterForward = 0;
    let forwardPeak = 0;
    scope(() => {
      const y = how === 'chain' ? chain(x, steps) : how === 'nested' ? nested(x, steps) : steps.reduce((h, f) => f(h), x);
      afterForward = inUse() - base;
      forwardPeak = cpuMemoryStats().peakBytesInUse - base;
      y.sum().backward();
    });
    const grads = [x, w].map((t) => (t.grad ? Array.from(t.grad.dataSync()) : null));
    for (const t of [x, w]) t._releaseGrad();
    return { grads, afterForward, forwardPeak, leaked: inUse() - base };
  }

  it('random chains: the bytes of nested scopes after the forward and at its peak, the plain loop\'s gradients, nothing left in use', () => {
    fc.assert(
      fc.property(programArb, (p) => {
        const [viaChain, viaNested, viaLoop] = [run(p, 'chain'), run(p, 'nested'), run(p, 'loop')];
        expect(viaChain.grads).toEqual(viaLoop.grads);
        expect(viaChain.afterForward).toBe(viaNested.afterForward);
        expect(viaChain.forwardPeak).toBe(viaNested.forwardPeak);
        expect(viaChain.leaked).toBe(0);
        return true;
      }),
      { numRuns: 200, seed: 25 },
    );
  });

  it("each step's temporaries are freed when it returns, its result once the next step has returned", () => {
    const x = randn([1000], f64);
    const bytes = 1000 * 8;
    const base = inUse();
    const seen: number[] = [];
    const step = (h: Tensor) => {
      seen.push(inUse() - base); // the previous result only (none before the first step)
      const t = h.exp(); // a temporary
      return t.add(1);
    };
    scope(() =>
      noGrad(() => {
        const y = chain(x, [step, step, step, step]);
        expect(inUse() - base).toBe(bytes);
        expect(y.shape).toEqual([1000]);
      }),
    );
    expect(seen).toEqual([0, bytes, bytes, bytes]);
    expect(inUse()).toBe(base);
  });

  it('a step that returns its input or a view of it keeps it; values as the plain loop', () => {
    const x = randn([3, 4], f64);
    const steps: Step[] = [(h) => h.mul(2), (h) => h, (h) => h.t(), (h) => h.reshape([12]), (h) => h];
    const expected = Array.from(steps.reduce((h, f) => f(h), x).dataSync());
    const got = scope(() => Array.from(chain(x, steps).dataSync()));
    expect(got).toEqual(expected);
  });

  it("keep() in a step is keep() in the caller's scope: the input, a temporary or a result, through nested chains", () => {
    const x = randn([100], f64);
    const xs = Array.from(x.dataSync());
    const base = inUse();
    const kept: Record<string, Tensor> = {};
    const outer = scope(() => {
      noGrad(() =>
        chain(x, [
          (h) => {
            kept.temporary = keep(h.mul(3));
            return h.add(1);
          },
          (h) => {
            kept.input = keep(h); // the previous step's result
            return chain(h, [(g) => (kept.inner = keep(g.add(2))), (g) => g.add(3)]); // a kept result of a nested chain
          },
          (h) => h.add(4),
        ]),
      );
      return [kept.temporary, kept.input, kept.inner];
    });
    // As if keep() had been called in the scope itself: the tensors outlive it (into no scope here).
    expect(Array.from(outer[0].dataSync())).toEqual(xs.map((v) => v * 3));
    expect(Array.from(kept.input.dataSync())).toEqual(xs.map((v) => v + 1));
    expect(Array.from(kept.inner.dataSync())).toEqual(xs.map((v) => v + 1 + 2));
    for (const t of Object.values(kept)) t.dispose();
    expect(inUse()).toBe(base);
  });

  it('outside every scope, the plain loop: nothing is freed, so a stashed value stays readable', () => {
    const x = randn([10], f64);
    let stashed: Tensor | null = null;
    const y = noGrad(() =>
      chain(x, [
        (h) => {
          stashed = h.exp();
          return stashed.add(1);
        },
        (h) => h.mul(2),
      ]),
    );
    expect(Array.from(stashed!.dataSync())).toEqual(Array.from(x.dataSync()).map(Math.exp));
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()).map((v) => (Math.exp(v) + 1) * 2));
  });

  it('30,000 steps: a loop, not nested calls (nested scopes overflow the stack past a few thousand); one result in use', () => {
    const x = randn([8], f64);
    const steps: Step[] = Array.from({ length: 30_000 }, () => (h) => h.mul(1));
    const base = inUse();
    scope(() =>
      noGrad(() => {
        const y = chain(x, steps);
        expect(inUse() - base).toBe(8 * 8);
        expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
      }),
    );
    expect(inUse()).toBe(base);
  });

  it("a step's Error goes on, and what the chain held is the enclosing scope's to free", () => {
    const x = randn([10], f64);
    const base = inUse();
    scope(() => {
      expect(() =>
        chain(x, [
          (h) => h.add(1),
          (h) => {
            h.mul(2);
            throw new Error('step 2 failed');
          },
        ]),
      ).toThrow('step 2 failed');
      expect(inUse() - base).toBeGreaterThanOrEqual(2 * 10 * 8); // step 1's result, step 2's product
      randn([10], f64);
    });
    expect(inUse()).toBe(base);
  });

  it('a step that returns a Promise is an Error', () => {
    const x = randn([4], f64);
    expect(() => scope(() => chain(x, [(h) => Promise.resolve(h) as unknown as Tensor]))).toThrow(/Promise/);
  });
});
