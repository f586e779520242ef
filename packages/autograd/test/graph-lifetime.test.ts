import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { autocast, enableGrad, noGrad, randn, tensor, type Tensor } from '@tsgrad/autograd';

/**
 * What the graph keeps and checks after the forward pass: saved outputs are version-checked like
 * saved inputs (PyTorch's "output 0 of ExpBackward0" error), and a backward pass without retainGraph
 * lets go of every saved tensor, so kept losses do not keep their step's activations alive.
 */
describe('saved outputs are version-checked', () => {
  const ops: [string, (x: Tensor) => Tensor, string][] = [
    ['exp', (x) => x.exp(), 'exp'],
    ['sigmoid', (x) => x.sigmoid(), 'sigmoid'],
    ['tanh', (x) => x.tanh(), 'tanh'],
    ['sqrt', (x) => x.sqrt(), 'sqrt'],
    ['max', (x) => x.max(), 'max'],
    ['relu', (x) => x.relu(), 'relu'],
    ['pow (exponent needs grad)', (x) => tensor([2, 3], { dtype: 'float64' }).pow(x), 'pow'],
  ];
  it.each(ops)('%s: an in-place write to the output under noGrad is an Error at backward', (_, op, name) => {
    const x = tensor([0.5, 1], { dtype: 'float64', requiresGrad: true });
    const y = op(x);
    noGrad(() => y.mul_(100));
    expect(() => y.sum().backward()).toThrow(new RegExp(`modified by an inplace operation: output 0 of ${name} \\(shape \\[\\d*\\], dtype float64\\) is at version 1; expected version 0 instead`));
  });

  it("the issue's example: exp's gradient is never computed from the modified output", () => {
    const x = tensor([0, 1], { dtype: 'float64', requiresGrad: true });
    const y = x.exp();
    noGrad(() => y.mul_(100));
    expect(() => y.sum().backward()).toThrow(/output 0 of exp/);
    expect(x.grad).toBeNull();
    // Unmodified, the gradient is exp(x) = [1, e].
    x.exp().sum().backward();
    expect(x.grad!.tolist()).toEqual([1, Math.E]);
  });

  it("std's returned tensor is not what its gradient reads (a where over sqrt, for PyTorch's 0 gradient at zero spread): writing into it leaves the gradient right", () => {
    const x = tensor([0.5, 1], { dtype: 'float64', requiresGrad: true });
    const y = x.std();
    noGrad(() => y.mul_(100));
    y.backward();
    // d std / dx for two points: (x - mean) / (std · (n - 1)) = [-0.25, 0.25] / 0.35355 = ∓0.70711.
    const g = x.grad!.tolist() as number[];
    expect(g[0]).toBeCloseTo(-Math.SQRT1_2, 14);
    expect(g[1]).toBeCloseTo(Math.SQRT1_2, 14);
  });

  it('an op whose rule does not read its output may have it modified (as in PyTorch)', () => {
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = a.add(1);
    noGrad(() => y.mul_(3));
    y.mul(2).sum().backward();
    expect(a.grad!.tolist()).toEqual([2, 2]);
  });

  it('views and detach() aliases are still caught', () => {
    const x = tensor([0.5, 1], { dtype: 'float64', requiresGrad: true });
    const y = x.exp();
    noGrad(() => y.reshape([2, 1]).mul_(2));
    expect(() => y.sum().backward()).toThrow(/output 0 of exp .* is at version 1/);
    const z = x.tanh();
    noGrad(() => z.detach().add_(1));
    expect(() => z.sum().backward()).toThrow(/output 0 of tanh .* is at version 1/);
  });
});

describe('grad mode and async functions', () => {
  it('noGrad and enableGrad reject a Promise instead of silently re-enabling grad after the first await', () => {
    expect(() => noGrad(async () => 1)).toThrow(/noGrad: fn returned a Promise/);
    expect(() => enableGrad(async () => 1)).toThrow(/enableGrad: fn returned a Promise/);
    // The mode is restored: ops record the graph again.
    expect(randn([2], { requiresGrad: true }).mul(2).requiresGrad).toBe(true);
  });
});

describe('backward frees the graph', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heldBytes = () => {
    for (let i = 0; i < 3; i++) gc();
    const m = process.memoryUsage();
    return m.arrayBuffers + m.heapUsed;
  };

  it('a second backward through a freed graph fails; every node of the graph is released', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const h = x.mul(3);
    const loss = h.exp().sum();
    loss.backward();
    expect(loss.gradFn!.saved).toBeNull();
    expect(loss.gradFn!.next).toEqual([]);
    expect(h.gradFn!.saved).toBeNull();
    expect(() => loss.backward()).toThrow(/Trying to backward through the graph a second time/);
  });

  it('keeping every loss of a 200-step MLP run grows memory by less than 20 MB', () => {
    const f64 = { dtype: 'float32' as const };
    const w1 = randn([784, 512], { ...f64, requiresGrad: true });
    const w2 = randn([512, 512], { ...f64, requiresGrad: true });
    const w3 = randn([512, 10], { ...f64, requiresGrad: true });
    const x = randn([256, 784], f64);
    const step = () => {
      for (const w of [w1, w2, w3]) w.grad = null;
      const loss = x.matmul(w1).relu().matmul(w2).tanh().matmul(w3).pow(2).mean();
      loss.backward();
      return loss;
    };
    for (let i = 0; i < 3; i++) step(); // warm-up: caches, pools
    const before = heldBytes();
    const history: Tensor[] = [];
    for (let i = 0; i < 200; i++) history.push(step());
    const grown = heldBytes() - before;
    // Each step's activations are ~2.6 MB (three [256, 512] float32 results and their inputs' copies):
    // holding them would be ~500 MB.
    expect(history).toHaveLength(200);
    expect(grown).toBeLessThan(20e6);
  }, 60_000);

  it("graphs under autocast that nobody backpropagates or disposes are garbage: a node waiting for the batch's last handle does not keep them alive", async () => {
    // A node holding the batch in place of its cast waits for the batch's last handle
    // (recomputed-casts.ts); that wait must not keep the node, its graph and its output alive.
    const w = randn([64, 64], { requiresGrad: true });
    const x = randn([128, 64]);
    const nodes: WeakRef<object>[] = [];
    for (let i = 0; i < 30; i++) {
      const y = autocast({ device: 'cpu' }, () => x.matmul(w).relu());
      let node = y.gradFn;
      while (node && node.op !== 'matmul') node = node.next.find((t) => t?.gradFn)?.gradFn ?? null;
      expect(node?.op).toBe('matmul'); // the node that holds the batch
      nodes.push(new WeakRef(node!));
    }
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(nodes.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(2); // measured 1 (30 before the weak reference)
  });
});
