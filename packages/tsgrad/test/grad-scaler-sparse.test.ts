import { describe, expect, it } from 'vitest';
import { Embedding, GradScaler, Linear, SGD, SparseTensor, autocast, functional as F, manualSeed, ones, randint, scope, tensor, type Tensor } from 'tsgrad';
import { relativeDistance } from '@tsgrad/test-utils';

/**
 * GradScaler with sparse gradients (Embedding({ sparse: true })), as PyTorch 2.x's `_unscale_grads_`:
 * a sparse gradient is unscaled and checked through its values. The reference is the same model with
 * a dense embedding (the dense gradient path, tested against PyTorch elsewhere), run in float64: the
 * scale sequence and the skipped steps must be identical, the parameters equal to float64 rounding.
 * A term that reaches only the embedding (`rare` rows times a huge factor) forces overflows in the
 * sparse gradient alone on the steps of OVERFLOW.
 */
const STEPS = 12;
const OVERFLOW = new Set([2, 3, 7]);
const OPTIONS = { initScale: 2 ** 10, growthInterval: 3 };

/** The scales a naive GradScaler reaches with overflows exactly on OVERFLOW (backoff 0.5, growth 2). */
function expectedScales(): number[] {
  let scale = OPTIONS.initScale;
  let tracker = 0;
  return Array.from({ length: STEPS }, (_, step) => {
    if (OVERFLOW.has(step)) [scale, tracker] = [scale / 2, 0];
    else if (++tracker === OPTIONS.growthInterval) [scale, tracker] = [scale * 2, 0];
    return scale;
  });
}

type Mode = { sparse: boolean; dtype: 'float32' | 'float64'; autocast?: 'float16' };

function train({ sparse, dtype, autocast: half }: Mode) {
  manualSeed(0);
  const emb = new Embedding(10, 8, { sparse }).to(dtype);
  const lin = new Linear(8, 5).to(dtype);
  // 16 draws from 10 rows: duplicate rows, so the sparse gradient is not coalesced.
  const x = randint(0, 10, [16], { dtype: 'int32' });
  const y = randint(0, 5, [16]);
  const rare = tensor([9, 9, 3], { dtype: 'int32' });
  // Times the scale (>= 256 here), inf in the dtype: 1e306 · 256 > float64's max, 1e37 · 256 > float32's.
  const huge = dtype === 'float64' ? 1e306 : 1e37;
  const params = [...emb.parameters(), ...lin.parameters()];
  const opt = new SGD(params, { lr: 0.5 });
  const scaler = new GradScaler(OPTIONS);
  const out = { scales: [] as number[], skipped: [] as number[], params: [] as number[][], nnz: [] as number[] };
  const flat = () => params.flatMap((p) => Array.from(p.dataSync()));
  for (let step = 0; step < STEPS; step++) {
    scope(() => {
      opt.zeroGrad();
      const forward = (): Tensor => {
        const loss = F.crossEntropy(lin.forward(emb.forward(x)), y);
        return OVERFLOW.has(step) ? loss.add(emb.forward(rare).sum().mul(huge)) : loss;
      };
      scaler.scale(half ? autocast({ device: 'cpu', dtype: half }, forward) : forward()).backward();
      const g = emb.weight.grad!;
      expect(g.isSparse).toBe(sparse);
      if (g instanceof SparseTensor) out.nnz.push(g.nnz);
      const before = flat();
      scaler.step(opt);
      scaler.update();
      const after = flat();
      if (after.every((v, i) => v === before[i])) out.skipped.push(step);
      out.scales.push(scaler.getScale());
      out.params.push(after);
    });
  }
  return out;
}

describe('GradScaler with sparse gradients (Embedding({ sparse: true }))', () => {
  const reference = train({ sparse: false, dtype: 'float64' });

  it('the dense float64 reference skips exactly the forced overflows and follows the naive scale sequence', () => {
    expect(reference.skipped).toEqual([...OVERFLOW]);
    expect(reference.scales).toEqual(expectedScales());
  });

  it('float64: the sparse run skips the same steps, reaches the same scales, and the same parameters to 1e-12', () => {
    const got = train({ sparse: true, dtype: 'float64' });
    expect(got.skipped).toEqual(reference.skipped);
    expect(got.scales).toEqual(reference.scales);
    expect(got.nnz.every((n) => n >= 16)).toBe(true); // unscaled as they are: duplicate rows not coalesced
    got.params.forEach((p, k) => expect(relativeDistance(p, reference.params[k]), `step ${k}`).toBeLessThan(1e-12));
  });

  it('float32: the sparse run against the float64 reference to float32 precision, same skips and scales', () => {
    const got = train({ sparse: true, dtype: 'float32' });
    expect(got.skipped).toEqual(reference.skipped);
    expect(got.scales).toEqual(reference.scales);
    got.params.forEach((p, k) => expect(relativeDistance(p, reference.params[k]), `step ${k}`).toBeLessThan(1e-5));
  });

  it('float16 autocast + GradScaler: sparse and dense embeddings train alike (same skips and scales, parameters to 1e-5)', () => {
    const dense = train({ sparse: false, dtype: 'float32', autocast: 'float16' });
    const sparse = train({ sparse: true, dtype: 'float32', autocast: 'float16' });
    expect(sparse.skipped).toEqual([...OVERFLOW]);
    expect(sparse.scales).toEqual(dense.scales);
    expect(dense.skipped).toEqual(sparse.skipped);
    // Measured: identical (the scales are powers of two, so unscaling is exact either way).
    sparse.params.forEach((p, k) => expect(relativeDistance(p, dense.params[k]), `step ${k}`).toBeLessThan(1e-5));
    // Float16 matmuls round each product to half an eps (2^-11) relative; through lr 0.5 and 12 steps
    // the parameters moved little: measured 2.7e-5 from the float64 reference at most, bound 1e-4.
    sparse.params.forEach((p, k) => expect(relativeDistance(p, reference.params[k]), `step ${k}`).toBeLessThan(1e-4));
  });

  it('unscale_ multiplies the values in place by 1/scale rounded to float32 and keeps the rows (no coalesce)', () => {
    const w = ones([4, 2], { requiresGrad: true });
    const values = [3, -7.5, 1e-3, 2, 5, 6];
    const grad = new SparseTensor(tensor([1, 3, 1], { dtype: 'int32' }), tensor([[3, -7.5], [1e-3, 2], [5, 6]]), [4, 2]);
    w.grad = grad;
    const opt = new SGD([w], { lr: 1 });
    const scaler = new GradScaler({ initScale: 3 });
    scaler.scale(tensor(1));
    scaler.unscale_(opt);
    expect(w.grad).toBe(grad);
    expect(Array.from((w.grad as SparseTensor).indices().dataSync())).toEqual([1, 3, 1]);
    const inv = Math.fround(1 / 3);
    expect(Array.from((w.grad as SparseTensor).values().dataSync())).toEqual(values.map((v) => Math.fround(Math.fround(v) * inv)));
  });

  it('an inf in a sparse gradient values skips the step; a float16 sparse gradient is refused by unscale_ as PyTorch', () => {
    const w = ones([4, 2], { requiresGrad: true });
    w.grad = new SparseTensor(tensor([0, 2], { dtype: 'int32' }), tensor([[1, Number.POSITIVE_INFINITY], [1, 1]]), [4, 2]);
    const opt = new SGD([w], { lr: 1 });
    const scaler = new GradScaler({ initScale: 4 });
    scaler.scale(tensor(1));
    scaler.step(opt);
    scaler.update();
    expect(Array.from(w.dataSync())).toEqual(Array(8).fill(1));
    expect(scaler.getScale()).toBe(2);
    // PyTorch checks the dtype before sparsity: public unscale_ never reaches the float16 coalesce.
    const h = ones([4, 2], { dtype: 'float16', requiresGrad: true });
    h.grad = new SparseTensor(tensor([0], { dtype: 'int32' }), tensor([[1, 1]], { dtype: 'float16' }), [4, 2]);
    scaler.scale(tensor(1));
    expect(() => scaler.unscale_(new SGD([h], { lr: 1 }))).toThrow(/Attempting to unscale FP16 gradients \(param group 0, params\[0\]\)/);
  });

  it("float16 sparse gradients where fp16 is allowed (PyTorch's _unscale_grads_ with allow_fp16): coalesced in float32 first, so an overflowing sum of duplicates is caught", () => {
    // 40000 + 40000 is 80000 in float32, inf once rounded to float16 (max 65504): each value alone is finite.
    const h = ones([3, 2], { dtype: 'float16', requiresGrad: true });
    h.grad = new SparseTensor(tensor([2, 0, 2], { dtype: 'int32' }), tensor([[40000, 1], [3, 0.5], [40000, 2]], { dtype: 'float16' }), [3, 2]);
    const scaler = new GradScaler() as unknown as { gradsToUnscale(o: unknown, allowFp16: boolean): Map<string, Tensor[]> };
    const grads = scaler.gradsToUnscale(new SGD([h], { lr: 1 }), true).get('cpu')!;
    const g = h.grad as SparseTensor;
    expect(Array.from(g.indices().dataSync())).toEqual([0, 2]);
    expect(g.dtype).toBe('float16');
    expect(Array.from(g.values().dataSync())).toEqual([3, 0.5, Number.POSITIVE_INFINITY, 3]);
    expect(grads).toHaveLength(1);
    expect(grads[0]).toBe(g.values());
  });
});
