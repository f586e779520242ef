import { describe, expect, it } from 'vitest';
import { autocast, fusedLayerNorm, manualSeed, noGrad, randn, scope, type Tensor } from '@tsgrad/autograd';
import { cpuMemoryStats } from '@tsgrad/tensor';
import { MAX_CHAIN } from '../src/recomputed-sums.js';

/**
 * A float32 sum with a half operand (autocast's residual stream) that a node reads is kept as its
 * operands and added again in backward (src/recomputed-sums.ts). The reference is the same graph
 * with the half output widened by hand before the add (`h.to('float32')`: float32 + float32, which
 * the graph keeps whole, as PyTorch's does): widening is exact, so the gradients must agree bit for bit.
 */
const CPU = { device: 'cpu', dtype: 'bfloat16' } as const;
const ROWS = 16;
const DIM = 32;
/** Bytes of one [ROWS, DIM] activation of `bytes`-sized elements. */
const act = (bytes: number) => ROWS * DIM * bytes;
const bits = (t: Tensor) => [t.dtype, t.shape, Array.from(t.dataSync())];

interface Chain {
  x0: Tensor;
  ws: Tensor[];
}

function makeChain(layers: number, seed = 0): Chain {
  manualSeed(seed);
  return { x0: randn([ROWS, DIM], { requiresGrad: true }), ws: Array.from({ length: layers }, () => randn([DIM, DIM], { requiresGrad: true }).mul(0.2).detach().requiresGrad_()) };
}

/**
 * A pre-LN residual chain as a GPT's under autocast: x_l = x_{l-1} + layerNorm(x_{l-1}) @ w_l (the
 * matmul in bfloat16, the sum float32), each layer in its own scope (a module's temporaries go when
 * it returns), the loss a final layerNorm's. `widen` adds the half output widened by hand;
 * `keepSums` keeps handles of the sums (on the loss's `sums`).
 */
function chainLoss({ x0, ws }: Chain, widen: boolean, keepSums = false): Tensor & { sums?: Tensor[] } {
  const [loss, ...sums] = autocast(CPU, () => {
    let x = x0;
    const out: Tensor[] = [];
    for (const w of ws) {
      const prev = x;
      x = scope(() => {
        const h = fusedLayerNorm(prev, DIM).matmul(w);
        return prev.add(widen ? h.to('float32') : h);
      });
      out.push(x);
    }
    return [fusedLayerNorm(x, DIM).square().sum(), ...(keepSums ? out : [])];
  });
  return Object.assign(loss, { sums });
}

/** The bytes the graph of `loss()` (made in its own scope) holds after forward, then its backward. */
function heldThenBackward(loss: () => Tensor, beforeBackward: () => void = () => {}): number {
  let held = 0;
  scope(() => {
    const base = cpuMemoryStats().bytesInUse;
    const l = scope(loss);
    held = cpuMemoryStats().bytesInUse - base;
    beforeBackward();
    l.backward();
  });
  return held;
}

function gradsOf(c: Chain): unknown[] {
  return [c.x0, ...c.ws].map((t) => bits(t.grad!));
}

describe('a float32 sum with a half operand is added again in backward, not held by the graph', () => {
  it("a 4-layer residual chain holds each sum's half operand instead of the float32 sum (2 bytes an element less), and the gradients are the widened graph's bit for bit", () => {
    const c = makeChain(4);
    const reference = makeChain(4);
    const held = heldThenBackward(() => chainLoss(c, false));
    const heldWidened = heldThenBackward(() => chainLoss(reference, true));
    // Sums x1..x4 are read by the next layer norms: each kept as its bfloat16 operand.
    expect(heldWidened - held).toBe(4 * act(2));
    expect(gradsOf(c)).toEqual(gradsOf(reference));
  });

  it('a chain longer than MAX_CHAIN keeps the sum after the longest chain whole, and the next chain starts from it', () => {
    const layers = MAX_CHAIN + 2;
    const c = makeChain(layers, 1);
    const reference = makeChain(layers, 1);
    const held = heldThenBackward(() => chainLoss(c, false));
    const heldWidened = heldThenBackward(() => chainLoss(reference, true));
    // x_{MAX_CHAIN+1} is kept whole; the others as half operands.
    expect(heldWidened - held).toBe((layers - 1) * act(2));
    expect(gradsOf(c)).toEqual(gradsOf(reference));
  });

  it("backward with the sums' handles still alive reads them; with retainGraph twice, the gradients are twice the widened graph's", () => {
    const c = makeChain(3, 2);
    const reference = makeChain(3, 2);
    const loss = chainLoss(c, false, true);
    expect(loss.sums).toHaveLength(3);
    loss.backward(undefined, { retainGraph: true });
    for (const t of loss.sums!) t.dispose(); // the second pass adds the sums again
    loss.backward();
    const lossRef = chainLoss(reference, true);
    lossRef.backward(undefined, { retainGraph: true });
    lossRef.backward();
    expect(gradsOf(c)).toEqual(gradsOf(reference));
  });

  it('a sum whose float32 operand no node holds (post-LN: the norm of the sum) is kept whole, as in PyTorch, and lets go of its half operand', () => {
    manualSeed(3);
    const a = randn([ROWS, DIM], { requiresGrad: true });
    const w = randn([DIM, DIM], { requiresGrad: true });
    // a.mul(2)'s gradient reads no operand: nothing holds the sum's float32 operand.
    const loss = (widen: boolean) => () =>
      autocast(CPU, () => {
        const h = a.matmul(w);
        return fusedLayerNorm(a.mul(2).add(widen ? h.to('float32') : h), DIM).sum();
      });
    const held = heldThenBackward(loss(false));
    const grads = [a, w].map((t) => bits(t.grad!));
    [a.grad, w.grad] = [null, null];
    expect(held).toBe(heldThenBackward(loss(true)));
    expect(grads).toEqual([a, w].map((t) => bits(t.grad!)));
  });

  it('a half operand written in place before a node keeps the sum: the node keeps the sum whole, and the gradients are right', () => {
    manualSeed(4);
    const x0 = randn([ROWS, DIM], { requiresGrad: true });
    const w = randn([DIM, DIM], { requiresGrad: true });
    const run = (widen: boolean) =>
      autocast(CPU, () => {
        const y = fusedLayerNorm(x0, DIM);
        const h = y.matmul(w);
        const x1 = x0.add(widen ? h.to('float32') : h);
        noGrad(() => h.mul_(0.5)); // after the add, before the layer norm reads x1
        return fusedLayerNorm(x1, DIM).square().sum().add(h.to('float32').sum());
      });
    run(false).backward();
    const grads = [x0, w].map((t) => bits(t.grad!));
    [x0.grad, w.grad] = [null, null];
    run(true).backward();
    expect(grads).toEqual([x0, w].map((t) => bits(t.grad!)));
  });

  it("a half operand written in place after a node kept it is an Error at backward naming it (PyTorch keeps the sum and would not mind)", () => {
    manualSeed(5);
    const { x0, ws } = makeChain(1, 5);
    // The forward in a scope: the sum's own memory is gone (alive, backward would read it, unchanged).
    const [loss, h] = scope(() =>
      autocast(CPU, () => {
        const h = fusedLayerNorm(x0, DIM).matmul(ws[0]);
        return [fusedLayerNorm(x0.add(h), DIM).square().sum(), h];
      }),
    );
    noGrad(() => h.mul_(2));
    expect(() => loss.backward()).toThrow(
      /modified by an inplace operation: input 0 of layerNorm is a float32 sum \(shape \[16, 32\]\) that backward adds again from its operands instead of keeping; operand 1 \(shape \[16, 32\], dtype bfloat16\) is at version 1; expected version 0 instead/,
    );
  });

  it('a float32 operand written in place is an Error too (the graph reads it, as in PyTorch)', () => {
    const { x0, ws } = makeChain(2, 6);
    const x = x0.mul(1);
    const loss = scope(() => chainLoss({ x0: x, ws }, false));
    noGrad(() => x.add_(1));
    expect(() => loss.backward()).toThrow(/modified by an inplace operation/);
  });

  /** x0 and a weight (seeded), run through `f` under bfloat16 autocast, backward: their gradients' bits. */
  function gradsOfRun(f: (x0: Tensor, w: Tensor, widen: boolean) => Tensor, widen: boolean, seed = 0): unknown[] {
    manualSeed(seed);
    const [x0, w] = [randn([ROWS, DIM], { requiresGrad: true }), randn([DIM, DIM], { requiresGrad: true })];
    scope(() => autocast(CPU, () => f(x0, w, widen))).backward();
    return [bits(x0.grad!), bits(w.grad!)];
  }
  /** h = layerNorm(x0) @ w in bfloat16, widened by hand when `widen`. */
  const halfOut = (x0: Tensor, w: Tensor, widen: boolean) => {
    const h = fusedLayerNorm(x0, DIM).matmul(w);
    return widen ? h.to('float32') : h;
  };

  const writes: [string, (x: Tensor) => void][] = [
    ['mul_', (x) => noGrad(() => x.mul_(2))],
    ['zero_ of a row view', (x) => noGrad(() => x.narrow(0, 0, 1).zero_())],
    ['copy_ into a detach() alias', (x) => noGrad(() => x.detach().copy_(x.detach().mul(3)))],
  ];
  it.each(writes)('a sum written in place (%s) before a node reads it, directly or through a later sum: the node keeps it whole, the gradients are right', (_, write) => {
    manualSeed(9);
    const m = randn([ROWS, DIM]).to('bfloat16');
    const direct = (x0: Tensor, w: Tensor, widen: boolean) => {
      const x1 = x0.add(halfOut(x0, w, widen));
      write(x1);
      return fusedLayerNorm(x1, DIM).square().sum();
    };
    const chained = (x0: Tensor, w: Tensor, widen: boolean) => {
      const x1 = x0.add(halfOut(x0, w, widen));
      write(x1);
      return fusedLayerNorm(x1.add(widen ? m.to('float32') : m), DIM).square().sum(); // no node reads x1
    };
    for (const f of [direct, chained]) expect(gradsOfRun(f, false)).toEqual(gradsOfRun(f, true));
  });

  it('a float32 sum in a chain written after the node kept the chain is added again from its operands: no Error, the gradients are right (PyTorch would not mind)', () => {
    manualSeed(10);
    const m = randn([ROWS, DIM]).to('bfloat16');
    const run = (widen: boolean) => {
      manualSeed(0);
      const [x0, w] = [randn([ROWS, DIM], { requiresGrad: true }), randn([DIM, DIM], { requiresGrad: true })];
      const [loss, x1] = scope(() =>
        autocast(CPU, () => {
          const x1 = x0.add(halfOut(x0, w, widen));
          return [fusedLayerNorm(x1.add(widen ? m.to('float32') : m), DIM).square().sum(), x1];
        }),
      );
      noGrad(() => x1.mul_(2)); // no node reads x1 itself
      loss.backward();
      return [bits(x0.grad!), bits(w.grad!)];
    };
    expect(run(false)).toEqual(run(true));
  });

  it('views of the sum (an offset, a transpose), a broadcast half row, the half operand first: the widened graph\'s gradients bit for bit', () => {
    const cases: ((x0: Tensor, w: Tensor, widen: boolean) => Tensor)[] = [
      (x0, w, widen) => fusedLayerNorm(x0.add(halfOut(x0, w, widen)).narrow(0, 3, 4), DIM).square().sum(),
      (x0, w, widen) => x0.add(halfOut(x0, w, widen)).t().matmul(x0.detach()).square().sum(),
      (x0, w, widen) => fusedLayerNorm(x0.add(halfOut(x0, w, widen).narrow(0, 1, 1)), DIM).square().sum(),
      (x0, w, widen) => fusedLayerNorm(halfOut(x0, w, widen).add(x0), DIM).square().sum(),
    ];
    cases.forEach((f, k) => expect(gradsOfRun(f, false, k), `case ${k}`).toEqual(gradsOfRun(f, true, k)));
  });

  it('never holds more than the whole sum would: not a narrow view of a larger half tensor, not a sum a node holds whole already', () => {
    const narrowView = (widen: boolean) => () => {
      manualSeed(11);
      const [x0, w4] = [randn([ROWS, DIM], { requiresGrad: true }), randn([DIM, 4 * DIM], { requiresGrad: true })];
      return autocast(CPU, () => {
        const big = fusedLayerNorm(x0, DIM).matmul(w4); // [ROWS, 4·DIM] bfloat16, a fused projection's
        const h = big.narrow(1, 0, DIM);
        return fusedLayerNorm(x0.add(widen ? h.to('float32') : h), DIM).square().sum().add(big.to('float32').sum().mul(0));
      });
    };
    expect(heldThenBackward(narrowView(false))).toBe(heldThenBackward(narrowView(true)));
    const heldWhole = (widen: boolean) => () => {
      manualSeed(12);
      const [x0, w, v] = [randn([ROWS, DIM], { requiresGrad: true }), randn([DIM, DIM], { requiresGrad: true }), randn([DIM, DIM], { requiresGrad: true })];
      return autocast(CPU, () => {
        const h = x0.mul(2).matmul(w);
        const x1 = x0.add(widen ? h.to('float32') : h);
        const a = x1.square(); // x0 held by no node yet: this one keeps x1 whole
        const b = fusedLayerNorm(x0, DIM); // now a node holds x0
        return a.sum().add(b.sum()).add(fusedLayerNorm(x1, DIM).matmul(v).to('float32').sum()); // x1 is held already
      });
    };
    expect(heldThenBackward(heldWhole(false))).toBe(heldThenBackward(heldWhole(true)));
  });

  it('leaves nothing behind: a sum no node reads, a graph dropped without backward, after backward', () => {
    manualSeed(13);
    const [x0, w] = [randn([ROWS, DIM], { requiresGrad: true }), randn([DIM, DIM], { requiresGrad: true })];
    const base = cpuMemoryStats().bytesInUse;
    scope(() => {
      autocast(CPU, () => x0.add(x0.matmul(w)).add(1));
    });
    expect(cpuMemoryStats().bytesInUse).toBe(base);
    scope(() => {
      autocast(CPU, () => fusedLayerNorm(x0.add(halfOut(x0, w, false)), DIM).sum());
    });
    expect(cpuMemoryStats().bytesInUse).toBe(base);
    scope(() => {
      autocast(CPU, () => fusedLayerNorm(x0.add(halfOut(x0, w, false)), DIM).sum()).backward();
      for (const t of [x0, w]) {
        t.grad!.dispose();
        t.grad = null;
      }
    });
    expect(cpuMemoryStats().bytesInUse).toBe(base);
  });
});
