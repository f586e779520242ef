import { describe, expect, it } from 'vitest';
import { Generator, noGrad, ones, randn, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { functional as F, MultiheadAttention, TransformerEncoderLayer, stateKey } from '@tsgrad/nn';
import { attentionFixture, decodeTensor, expectClose, gradcheck, type EncodedTensor } from '@tsgrad/test-utils';

// References: fixtures/attention.json (scripts/gen_attention_fixtures.py): SDPA from PyTorch 2.x's
// documented algorithm in float64 (1.13 has no public SDPA; the script cross-checks its private
// prototype), MultiheadAttention and TransformerEncoderLayer from torch 1.13's modules.
const fx = attentionFixture();
const tol = { rtol: 1e-10, atol: 1e-12 };
const flat = (e: EncodedTensor) => e.data.map(Number);
const f64grad = { dtype: 'float64' as const, requiresGrad: true };
const sd = (c: { stateDict: Record<string, EncodedTensor> }) => new Map(Object.entries(c.stateDict).map(([k, v]) => [k, decodeTensor(v)]));

/** The documented algorithm, naively in float64 loops over [B, L, S] (batch dims flattened): the reference of the dropout test. */
function naiveAttention(q: number[][][], k: number[][][], v: number[][][], scale: number, keep: (b: number, i: number, j: number) => number): number[][][] {
  return q.map((qb, b) =>
    qb.map((qi, i) => {
      const s = k[b].map((kj) => kj.reduce((acc, x, e) => acc + x * qi[e], 0) * scale);
      const m = Math.max(...s);
      const ex = s.map((x) => Math.exp(x - m));
      const z = ex.reduce((a, x) => a + x, 0);
      const w = ex.map((x, j) => (x / z) * keep(b, i, j));
      return v[b][0].map((_, c) => w.reduce((acc, wj, j) => acc + wj * v[b][j][c], 0));
    }),
  );
}

describe('F.scaledDotProductAttention matches the float64 reference (PyTorch 2.x semantics)', () => {
  it.each(fx.sdpa.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const [q, k, v] = [c.query, c.key, c.value].map((e) => decodeTensor(e, { requiresGrad: true }));
    const attnMask = c.attnMask ? decodeTensor(c.attnMask) : null;
    const out = F.scaledDotProductAttention(q, k, v, { attnMask, isCausal: c.isCausal, scale: c.scale, enableGqa: c.enableGqa });
    expect(out.shape).toEqual(c.output.shape);
    expectClose(out.detach().reshape([-1]), flat(c.output), { ...tol, what: 'output' });
    out.backward(decodeTensor(c.cotangent));
    [q, k, v].forEach((t, i) => expectClose(t.grad!.reshape([-1]), flat(c.grads[i]), { ...tol, what: `grad ${'qkv'[i]}` }));
  });

  it('gives a fully masked row zeros and a zero, finite gradient (PyTorch ≥ 2.5 _safe_softmax), under bool and float masks', () => {
    const q = randn([2, 3, 4], f64grad);
    const k = randn([2, 5, 4], f64grad);
    const v = randn([2, 5, 2], f64grad);
    const keep = tensor([[true, true, false, true, true], [false, false, false, false, false], [true, false, false, false, false]]);
    const additive = noGrad(() => zeros([3, 5], { dtype: 'float64' }).where(keep, -Infinity));
    for (const attnMask of [keep, additive]) {
      for (const t of [q, k, v]) t.grad = null;
      const out = F.scaledDotProductAttention(q, k, v, { attnMask });
      expect(out.select(1, 1).tolist()).toEqual([[0, 0], [0, 0]]);
      out.sum().backward();
      for (const t of [q, k, v]) expect((t.grad!.tolist() as number[][][]).flat(2).every(Number.isFinite)).toBe(true);
      expect(q.grad!.select(1, 1).abs().sum().item()).toBe(0);
      // Row 2 attends to key 0 alone: its output is v's first row.
      expectClose(out.select(1, 2), v.select(1, 0).detach(), tol);
    }
  });

  it('passes gradcheck (float64 finite differences) with a bool mask, a float mask, causality and a scale', () => {
    const mask = tensor([[true, false, true], [true, true, false]]);
    const bias = randn([2, 1, 3], { dtype: 'float64' });
    for (const opts of [{ attnMask: mask }, { attnMask: bias, scale: 0.7 }, { isCausal: true }]) {
      gradcheck((q, k, v) => F.scaledDotProductAttention(q, k, v, opts), [randn([2, 2, 4], f64grad), randn([2, 3, 4], f64grad), randn([2, 3, 3], f64grad)]);
    }
    // A float mask receives the scores' gradient, as PyTorch's math path gives it.
    const [q, k, v] = [randn([2, 3], { dtype: 'float64' }), randn([4, 3], { dtype: 'float64' }), randn([4, 2], { dtype: 'float64' })];
    gradcheck((m) => F.scaledDotProductAttention(q, k, v, { attnMask: m }), [randn([2, 4], f64grad)]);
  });

  it('drops attention weights with dropoutP (mask from the given generator, kept weights scaled by 1/(1 − p))', () => {
    const [B, L, S, E] = [2, 3, 4, 5];
    const [q, k, v] = [randn([B, L, E], { dtype: 'float64' }), randn([B, S, E], { dtype: 'float64' }), randn([B, S, 2], { dtype: 'float64' })];
    const p = 0.4;
    const out = F.scaledDotProductAttention(q, k, v, { dropoutP: p, generator: new Generator(5) });
    const g = new Generator(5);
    const draws = Array.from({ length: B * L * S }, () => g.random());
    const keep = (b: number, i: number, j: number) => (draws[(b * L + i) * S + j] >= p ? 1 / (1 - p) : 0);
    const ref = naiveAttention(q.tolist() as number[][][], k.tolist() as number[][][], v.tolist() as number[][][], 1 / Math.sqrt(E), keep);
    expectClose(out, ref, tol);
    expect(draws.some((d) => d < p) && draws.some((d) => d >= p)).toBe(true);
    expectClose(F.scaledDotProductAttention(q, k, v, { dropoutP: 1 }), zeros([B, L, 2], { dtype: 'float64' }), tol);
  });

  it('rejects misuse with PyTorch\'s messages, naming the culprit', () => {
    const [q, k, v] = [randn([2, 3, 4]), randn([2, 5, 4]), randn([2, 5, 6])];
    expect(() => F.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: ones([3, 5], { dtype: 'bool' }) })).toThrow(
      'Explicit attn_mask should not be set when is_causal=True',
    );
    expect(() => F.scaledDotProductAttention(q, k.to('float64'), v)).toThrow(/same dtype, but got query.dtype: float32 key.dtype: float64 and value.dtype: float32/);
    expect(() => F.scaledDotProductAttention(randn([4]), k, v)).toThrow(/at least 2 dimensional, but got query.dim: 1/);
    expect(() => F.scaledDotProductAttention(q, randn([2, 5, 3]), v)).toThrow(/query's last dimension \(4\) must equal key's \(3\)/);
    expect(() => F.scaledDotProductAttention(q, k, randn([2, 4, 6]))).toThrow(/same sequence length .* key \[2, 5, 4\] and value \[2, 4, 6\]/);
    expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: ones([3, 4], { dtype: 'bool' }) })).toThrow(/attn_mask of shape \[3, 4\] does not broadcast to the attention scores \[\.\.\., 3, 5\]/);
    expect(() => F.scaledDotProductAttention(q, k, v, { attnMask: ones([3, 5], { dtype: 'int32' }) })).toThrow(/attn_mask.dtype: int32 and query.dtype: float32/);
    expect(() => F.scaledDotProductAttention(q, k, v, { dropoutP: 1.5 })).toThrow('dropout probability has to be between 0 and 1, but got 1.5');
    expect(() => F.scaledDotProductAttention(q, k, v, { is_causal: true } as never)).toThrow(/is_causal.*isCausal/);
    const [q4, kv3] = [randn([1, 4, 3, 2]), randn([1, 3, 5, 2])];
    expect(() => F.scaledDotProductAttention(q4, kv3, kv3, { enableGqa: true })).toThrow(/Number of heads in key and value must divide the number of heads in query, got 4 query heads, 3 key heads/);
    expect(() => F.scaledDotProductAttention(q4, randn([1, 2, 5, 2]), randn([1, 2, 5, 2]))).toThrow(/batch dims of query and key/);
    expect(() => F.scaledDotProductAttention(randn([3, 2]), randn([5, 2]), randn([5, 2]), { enableGqa: true })).toThrow(/enableGqa needs .* heads dimension/);
  });
});

describe('MultiheadAttention matches torch 1.13 (float64, 1e-10)', () => {
  it.each(fx.mha.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const m = new MultiheadAttention(...c.args, c.options).to('float64');
    expect([...m.stateDict().keys()]).toEqual(Object.keys(c.stateDict));
    m.loadStateDict(sd(c));
    const xs = c.inputs.map((e) => decodeTensor(e, { requiresGrad: true }));
    const [q, k, v] = c.selfAttention ? [xs[0], xs[0], xs[0]] : xs;
    const masks = Object.fromEntries(Object.entries(c.masks).map(([n, e]) => [n, decodeTensor(e)]));
    const [out, w] = m.forward(q, k, v, { ...masks, ...c.forward });
    expectClose(out.detach().reshape([-1]), flat(c.output), { ...tol, what: 'output' });
    expect(out.shape).toEqual(c.output.shape);
    let loss = out.mul(decodeTensor(c.cotangent)).sum();
    if (c.weights === null) expect(w).toBeNull();
    else {
      expect(w!.shape).toEqual(c.weights.shape);
      expectClose(w!.detach().reshape([-1]), flat(c.weights), { ...tol, what: 'weights' });
      loss = loss.add(w!.mul(decodeTensor(c.weightsCotangent!)).sum());
    }
    loss.backward();
    xs.forEach((x, i) => expectClose(x.grad!.reshape([-1]), flat(c.inputGrads[i]), { ...tol, what: `input ${i} grad` }));
    const grads = new Map(m.namedParameters().map(([n, p]) => [stateKey(n), p.grad]));
    expect([...grads.keys()].sort()).toEqual(Object.keys(c.paramGrads).sort());
    for (const [key, g] of Object.entries(c.paramGrads)) expectClose(grads.get(key)!.reshape([-1]), flat(g), { ...tol, what: `grad of ${key}` });
  });

  it('initializes as PyTorch: Xavier-uniform in-projection, zero biases, Xavier-normal bias_k/bias_v', () => {
    const E = 32;
    const m = new MultiheadAttention(E, 4, { addBiasKV: true });
    const w = m.inProjWeight!;
    const bound = Math.sqrt(6 / (E + 3 * E)); // fan_in E, fan_out 3E
    expect(w.shape).toEqual([3 * E, E]);
    expect(w.abs().max().item()).toBeLessThanOrEqual(bound);
    expect(w.abs().max().item()).toBeGreaterThan(0.9 * bound);
    expect(Math.abs(w.square().mean().item() - bound ** 2 / 3)).toBeLessThan(0.1 * (bound ** 2 / 3)); // U(-a, a) has variance a²/3
    expect(m.inProjBias!.abs().sum().item()).toBe(0);
    expect(m.outProj.bias!.abs().sum().item()).toBe(0);
    expect([...m.stateDict().keys()]).toEqual(['in_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias']);
    expect(m.biasK!.shape).toEqual([1, 1, E]);
  });

  it('gives a query whose keys are all masked a zero attention output (the out-projection bias) and finite gradients', () => {
    const m = new MultiheadAttention(4, 2, { batchFirst: true }).to('float64');
    noGrad(() => m.outProj.bias!.copy_(tensor([1, 2, 3, 4])));
    const x = randn([1, 3, 4], f64grad);
    const attnMask = tensor([[false, true, true], [true, true, true], [true, false, false]]); // query 1 sees nothing
    const [y, w] = m.forward(x, x, x, { attnMask });
    expectClose(y.select(1, 1), [[1, 2, 3, 4]], tol);
    expect(w!.select(1, 1).tolist()).toEqual([[0, 0, 0]]);
    y.sum().backward();
    expect((x.grad!.tolist() as number[][][]).flat(2).every(Number.isFinite)).toBe(true);
  });

  it('drops attention weights in training only: each returned weight is 0 or the evaluation weight / (1 − p)', () => {
    const m = new MultiheadAttention(4, 2, { dropout: 0.5 }).to('float64');
    const x = randn([6, 2, 4], { dtype: 'float64' });
    const noDrop = new MultiheadAttention(4, 2).to('float64');
    noDrop.loadStateDict(m.stateDict());
    const [yEval, wEval] = m.eval().forward(x, x, x, { averageAttnWeights: false });
    expectClose(yEval, noDrop.forward(x, x, x)[0], tol);
    const [, wTrain] = m.train().forward(x, x, x, { averageAttnWeights: false });
    const [e, t] = [(wEval!.tolist() as number[][][][]).flat(3), (wTrain!.tolist() as number[][][][]).flat(3)];
    expect(t.every((w, i) => w === 0 || Math.abs(w - 2 * e[i]) <= 1e-12 * Math.abs(e[i]))).toBe(true);
    expect(t.some((w) => w === 0) && t.some((w) => w !== 0)).toBe(true);
  });

  it('takes isCausal as a hint that requires attnMask: as PyTorch 2.x, it stands for the mask unless the weights or a key padding mask need it', () => {
    const m = new MultiheadAttention(4, 2).to('float64');
    const x = randn([3, 2, 4], { dtype: 'float64' });
    const causal = tensor([[false, true, true], [false, false, true], [false, false, false]]);
    const [withMask, weights] = m.forward(x, x, x, { attnMask: causal });
    expectClose(m.forward(x, x, x, { attnMask: causal, isCausal: true, needWeights: false })[0], withMask, tol);
    // The hint is trusted: a mask that is not causal is not read (multi_head_attention_forward sets
    // attn_mask = None and passes is_causal to scaled_dot_product_attention).
    const other = tensor([[false, false, true], [true, false, false], [false, true, false]]);
    const [otherOut] = m.forward(x, x, x, { attnMask: other });
    expectClose(m.forward(x, x, x, { attnMask: other, isCausal: true, needWeights: false })[0], withMask, tol);
    // With the weights asked for, or a key padding mask, attnMask is applied as given.
    const [hinted, hintedWeights] = m.forward(x, x, x, { attnMask: other, isCausal: true });
    expectClose(hinted, otherOut, tol);
    expect(hintedWeights!.tolist()).not.toEqual(weights!.tolist());
    const pad = tensor([[false, false, false], [false, false, false]]);
    expectClose(m.forward(x, x, x, { attnMask: other, isCausal: true, needWeights: false, keyPaddingMask: pad })[0], otherOut, tol);
    expect(() => m.forward(x, x, x, { isCausal: true })).toThrow(/Need attn_mask if specifying the is_causal hint/);
  });

  it('with the isCausal hint the keys addBiasKV and addZeroAttn append are masked too: the output of the same projections without them (PyTorch 2.x passes them to scaled_dot_product_attention under is_causal)', () => {
    const x = randn([3, 2, 4], { dtype: 'float64' });
    const causal = tensor([[false, true, true], [false, false, true], [false, false, false]]);
    for (const opts of [{ addBiasKV: true }, { addZeroAttn: true }]) {
      const m = new MultiheadAttention(4, 2, opts).to('float64');
      // The same projections without the appended key: what every query sees when it is masked.
      const plain = new MultiheadAttention(4, 2).to('float64');
      plain.loadStateDict(new Map([...m.stateDict()].filter(([key]) => key !== 'bias_k' && key !== 'bias_v')));
      const [reference] = plain.forward(x, x, x, { attnMask: causal });
      expectClose(m.forward(x, x, x, { attnMask: causal, isCausal: true, needWeights: false })[0], reference, tol);
      // Applied as a mask (the weights asked for), the appended key takes part: a different result.
      const [masked] = m.forward(x, x, x, { attnMask: causal, isCausal: true });
      expect(Math.max(...(masked.sub(reference).abs().flatten().tolist() as number[]))).toBeGreaterThan(1e-6);
    }
  });

  it('rejects misuse with PyTorch\'s messages', () => {
    expect(() => new MultiheadAttention(10, 3)).toThrow('embed_dim must be divisible by num_heads, got embed_dim=10 and num_heads=3');
    expect(() => new MultiheadAttention(0, 2)).toThrow('embed_dim and num_heads must be greater than 0, got embed_dim=0 and num_heads=2 instead');
    expect(() => new MultiheadAttention(8, 2, { batch_first: true } as never)).toThrow(/batch_first.*batchFirst/);
    const m = new MultiheadAttention(8, 2);
    const x = randn([5, 2, 8]);
    expect(() => m.forward(randn([5, 2, 6]), x, x)).toThrow('was expecting embedding dimension of 8, but got 6');
    expect(() => m.forward(x, x, x, { attnMask: ones([5, 4], { dtype: 'bool' }) })).toThrow('The shape of the 2D attn_mask is [5, 4], but should be [5, 5].');
    expect(() => m.forward(x, x, x, { attnMask: ones([2, 5, 5], { dtype: 'bool' }) })).toThrow('The shape of the 3D attn_mask is [2, 5, 5], but should be [4, 5, 5].');
    expect(() => m.forward(x, x, x, { keyPaddingMask: ones([5, 2], { dtype: 'bool' }) })).toThrow('expecting key_padding_mask shape of [2, 5], but got [5, 2]');
    expect(() => m.forward(x, x, x, { keyPaddingMask: ones([2, 5], { dtype: 'int32' }) })).toThrow('only bool and floating types of key_padding_mask are supported');
    expect(() => m.forward(randn([2, 5, 2, 8]), x, x)).toThrow('query should be unbatched 2D or batched 3D tensor but received 4D query tensor'.replace('4D', '4-D'));
    expect(() => m.forward(x, randn([5, 8]), x)).toThrow(/expected `key` and `value` to be 3-D but found 2-D and 3-D/);
    expect(() => m.forward(x, x, x, { need_weights: false } as never)).toThrow(/need_weights.*needWeights/);
  });
});

describe('TransformerEncoderLayer matches torch 1.13 (float64, 1e-10)', () => {
  it.each(fx.encoder.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const layer = new TransformerEncoderLayer(...c.args, c.options).to('float64');
    expect([...layer.stateDict().keys()]).toEqual(Object.keys(c.stateDict));
    layer.loadStateDict(sd(c));
    layer.train(c.mode === 'train');
    const x = decodeTensor(c.input, { requiresGrad: true });
    const opts = Object.fromEntries(Object.entries(c.masks).map(([n, e]) => [n, decodeTensor(e)]));
    const out = layer.forward(x, opts);
    expectClose(out.detach().reshape([-1]), flat(c.output), { ...tol, what: 'output' });
    out.backward(decodeTensor(c.cotangent));
    expectClose(x.grad!.reshape([-1]), flat(c.inputGrad), { ...tol, what: 'input grad' });
    const grads = new Map(layer.namedParameters().map(([n, p]) => [stateKey(n), p.grad]));
    for (const [key, g] of Object.entries(c.paramGrads)) expectClose(grads.get(key)!.reshape([-1]), flat(g), { ...tol, what: `grad of ${key}` });
  });

  it('names its submodules as PyTorch does, and rejects an unknown activation or option', () => {
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    expect([...layer.namedChildren()].map(([n]) => stateKey(n))).toEqual(['self_attn', 'linear1', 'dropout', 'linear2', 'norm1', 'norm2', 'dropout1', 'dropout2']);
    expect(() => new TransformerEncoderLayer(8, 2, { activation: 'tanh' as never })).toThrow('activation should be relu/gelu, not tanh');
    expect(() => new TransformerEncoderLayer(8, 2, { norm_first: true } as never)).toThrow(/norm_first.*normFirst/);
    expect(() => layer.forward(randn([3, 2, 8]), { src_mask: null } as never)).toThrow(/src_mask.*srcMask/);
  });

  it('takes a function as its activation', () => {
    const layer = new TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, activation: (t: Tensor) => t.tanh() }).to('float64');
    const x = randn([3, 1, 4], { dtype: 'float64' });
    const h = layer.norm1.forward(x.add(layer.selfAttn.forward(x, x, x)[0]));
    const ref = layer.norm2.forward(h.add(layer.linear2.forward(layer.linear1.forward(h).tanh())));
    expectClose(layer.forward(x), ref, tol);
  });
});
