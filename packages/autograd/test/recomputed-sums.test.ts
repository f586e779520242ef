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
});
