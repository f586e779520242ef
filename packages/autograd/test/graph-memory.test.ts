import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpuMemoryStats, resetCpuPeak } from '@tsgrad/tensor';
import { cat, detectAnomaly, manualSeed, noGrad, randn, scope, tensor, where, type Tensor } from '@tsgrad/autograd';

/**
 * The bytes the CPU backend's live storages hold (cpuMemoryStats) around a forward run in its own
 * scope and its backward: the graph holds exactly the values its rules read (PyTorch's saved
 * variables), backward lets go of them node by node and of each gradient once it is used, so its
 * peak is the saved values plus a few gradients, not plus every gradient of the graph.
 */
const inUse = () => cpuMemoryStats().bytesInUse;
const f64 = { dtype: 'float64' } as const;
const N = 10_000;
const BYTES = N * 8;

describe('what the graph holds in memory', () => {
  it('after a forward in its own scope: only the values gradient rules read (exp: its output; add, cast and views: nothing)', () => {
    const x = randn([N], { ...f64, requiresGrad: true });
    const base = inUse();
    const loss = scope(() => x.add(1).exp().reshape([100, 100]).t().to('float32').sum());
    // exp's output (float64) and the loss (float32, 4 bytes); x + 1, the float32 cast and the views are gone.
    expect(inUse() - base).toBe(BYTES + 4);
    loss.backward();
    // Backward lets go of exp's output; x.grad (float64) and the loss stay.
    expect(inUse() - base).toBe(BYTES + 4);
    expect(x.grad!.numel()).toBe(N);
    loss.dispose();
    x.grad!.dispose();
    expect(inUse()).toBe(base);
  });

  it('backward frees saved values and used gradients as it goes: its peak is far below saved + every gradient', () => {
    const depth = 40;
    const x = randn([N], { ...f64, requiresGrad: true }).mul(0.01).detach().requiresGrad_();
    const base = inUse();
    const loss = scope(() => {
      let y: Tensor = x;
      for (let i = 0; i < depth; i++) y = y.erf(); // erf reads its input: one saved [N] per layer
      return y.sum();
    });
    const saved = inUse() - base;
    expect(saved).toBe((depth - 1) * BYTES + 8); // the first input is x itself
    resetCpuPeak();
    scope(() => loss.backward());
    const peak = cpuMemoryStats().peakBytesInUse - base;
    // Holding every layer's gradient to the end would be saved + depth·BYTES; the sweep holds a few.
    expect(peak).toBeLessThanOrEqual(saved + 4 * BYTES);
    expect(inUse() - base).toBe(BYTES + 8); // x.grad and the loss
  });

  it('the values of a graph nobody backpropagates are freed with its last tensor', () => {
    const w = randn([N], { ...f64, requiresGrad: true });
    const base = inUse();
    scope(() => {
      w.exp().tanh().mul(w).sum();
    });
    expect(inUse()).toBe(base);
    const y = w.exp().sigmoid();
    expect(inUse() - base).toBe(2 * BYTES); // exp's and sigmoid's outputs
    y.dispose();
    expect(inUse() - base).toBe(BYTES); // y's node is gone; exp's output is its own handle's still
  });

  it('a kept value whose tensor gets new memory (setData, as Module.to does) lets go of the memory it held, not the new one', () => {
    const x = tensor([1, 2], { ...f64, requiresGrad: true });
    const w = tensor([3, 4], { ...f64, requiresGrad: true });
    const base = inUse();
    const y = scope(() => x.mul(w).sum()); // mul keeps x and w
    const replacement = tensor([5, 6], f64);
    noGrad(() => w.setData(replacement));
    replacement.dispose(); // w is now the only owner of [5, 6]
    y.backward(); // the node lets go of w's old memory: freed now
    expect(w.tolist()).toEqual([5, 6]);
    y.dispose();
    for (const t of [x, w]) t.grad!.dispose();
    expect(inUse()).toBe(base); // [3, 4] freed, [5, 6] held by w: as many bytes as before
  });

  it('a backward that throws partway (anomaly detection) leaves no half-freed node: a retry is the "second time" Error', () => {
    const x = tensor([0, 1], { ...f64, requiresGrad: true });
    const w = tensor([1, 2], { ...f64, requiresGrad: true });
    const loss = scope(() => x.sqrt().mul(w.exp()).mul(0).sum()); // sqrt's gradient at 0 times 0: NaN
    expect(() => detectAnomaly(() => loss.backward())).toThrow(/the gradient of sqrt/);
    expect(() => loss.backward()).toThrow(/Trying to backward through the graph a second time/);
  });

  it("a gradient handle passed to two inputs is released only once both have it (add's g, summed into a pending one)", () => {
    const cases: [string, (u: Tensor, x: Tensor) => Tensor][] = [
      ['(u + x) + u', (u, x) => u.add(x).add(u)],
      ['x + x', (_, x) => x.add(x)],
      ['clone(x) + x', (_, x) => x.clone().add(x)],
      ['(u + x) + (x + u)', (u, x) => u.add(x).add(x.add(u))],
    ];
    for (const [name, f] of cases) {
      const u = tensor([1, 2], { ...f64, requiresGrad: true });
      const x = tensor([3, 4], { ...f64, requiresGrad: true });
      const base = inUse();
      const loss = scope(() => f(u, x).mul(tensor([1, 10], f64)).sum());
      scope(() => loss.backward());
      const counts = { '(u + x) + u': [2, 1], 'x + x': [0, 2], 'clone(x) + x': [0, 2], '(u + x) + (x + u)': [2, 2] }[name]!;
      expect([u.grad?.tolist() ?? [0, 0], x.grad!.tolist()], name).toEqual(counts.map((c) => [c, 10 * c]));
      loss.dispose();
      for (const t of [u, x]) t.grad?.dispose();
      expect(inUse(), name).toBe(base);
    }
  });

  /**
   * Random graphs of ops that share operands, views, casts, detach() and ops whose rules read their
   * inputs, outputs or nothing: run once with nothing freed (no scopes) and once with the forward in
   * a scope, random ops in scopes of their own, sometimes a backward with retainGraph first, and the
   * backward in a scope. The gradients must be the same bit for bit, and once the loss and the
   * gradients are disposed, no byte may stay in use.
   */
  const OPS: ((a: Tensor, b: Tensor) => Tensor)[] = [
    (a, b) => a.add(b),
    (a, b) => a.mul(b),
    (a) => a.exp().mul(0.1),
    (a) => a.tanh(),
    (a) => a.clone(),
    (a) => a.reshape([16]).reshape([4, 4]),
    (a) => a.t(),
    (a) => a.t().contiguous().t(),
    (a) => a.t().reshape([16]).reshape([4, 4]), // a copy: its own storage
    (a) => a.sum(1, { keepdim: true }).expand([4, 4]),
    (a, b) => a.matmul(b).mul(0.25),
    (a) => cat([a.narrow(0, 0, 2), a.narrow(0, 2, 2)], 0),
    (a, b) => where(a.gt(0), a, b),
    (a) => a.max(1, { keepdim: true }).expand([4, 4]),
    (a) => a.sigmoid(),
    (a, b) => a.sub(b),
    (a, b) => a.div(b.abs().add(1)),
    (a) => a.to('float32').to('float64'),
    (a) => a.detach(),
    (a) => a.erf(),
    (a) => a.add(a),
    (a) => a.abs().add(1).sqrt(),
  ];
  interface Step {
    op: number;
    a: number;
    b: number;
    ownScope: boolean;
  }
  const stepArb = fc.record({ op: fc.nat(OPS.length - 1), a: fc.nat(), b: fc.nat(), ownScope: fc.boolean() });
  const programArb = fc.record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }), summed: fc.array(fc.boolean(), { maxLength: 14 }), retainFirst: fc.boolean(), seed: fc.nat(1000) });

  function runProgram(p: { steps: Step[]; summed: boolean[]; retainFirst: boolean; seed: number }, scoped: boolean): { grads: (number[] | null)[]; leaked: number } | null {
    manualSeed(p.seed);
    const xs = [0, 1, 2].map(() => randn([4, 4], { ...f64, requiresGrad: true }));
    const base = inUse();
    const forward = () => {
      const values = [...xs];
      for (const s of p.steps) {
        const f = () => OPS[s.op](values[s.a % values.length], values[s.b % values.length]);
        values.push(scoped && s.ownScope ? scope(f) : f());
      }
      let loss = values[values.length - 1];
      values.slice(3, -1).forEach((v, i) => {
        if (p.summed[i]) loss = loss.add(v);
      });
      return loss.sum();
    };
    const loss = scoped ? scope(forward) : forward();
    if (!loss.requiresGrad) {
      loss.dispose();
      return null;
    }
    if (scoped && p.retainFirst) {
      scope(() => loss.backward(undefined, { retainGraph: true }));
      for (const x of xs) x._releaseGrad();
    }
    if (scoped) scope(() => loss.backward());
    else loss.backward();
    const grads = xs.map((x) => (x.grad ? Array.from(x.grad.dataSync()) : null));
    loss.dispose();
    for (const x of xs) x._releaseGrad();
    return { grads, leaked: inUse() - base };
  }

  it('random graphs: the same gradients with the forward in scopes as without, and nothing left in use', () => {
    fc.assert(
      fc.property(programArb, (p) => {
        const plain = runProgram(p, false);
        const scoped = runProgram(p, true);
        if (plain === null || scoped === null) return plain === scoped;
        expect(scoped.grads).toEqual(plain.grads);
        expect(scoped.leaked).toBe(0);
        return true;
      }),
      { numRuns: 300, seed: 25 },
    );
  });
});
