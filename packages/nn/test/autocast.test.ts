import { describe, expect, it, vi } from 'vitest';
import { Tensor, autocast, cat, isAutocastEnabled, keep, manualSeed, matmulAdd, noGrad, ones, tensor, randint, randn, scope, stack, type DType } from '@tsgrad/autograd';
import { Linear, ReLU, Sequential, functional as F } from '@tsgrad/nn';
import { loadFixture } from '@tsgrad/test-utils';
import { cpuMemoryStats, getBackend, roundsOnRead } from '@tsgrad/tensor';

/** fixtures/autocast-policy.json (scripts/gen_autocast_fixtures.py): torch 1.13's CPU autocast, bfloat16. */
interface PolicyCase {
  op: string;
  args: { shape: number[]; dtype: DType }[];
  plain: DType | null;
  autocast: DType;
}

/** The ops of the fixture, with PyTorch's arguments (tsgrad's names). */
const OPS: Record<string, (...t: Tensor[]) => Tensor> = {
  matmul: (a, b) => a.matmul(b),
  linear: (x, w, b) => F.linear(x, w, b),
  conv2d: (x, w, b) => F.conv2d(x, w, b, { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 }),
  mseLoss: (a, b) => F.mseLoss(a, b),
  l1Loss: (a, b) => F.l1Loss(a, b),
  nllLoss: (a, t) => F.nllLoss(a, t),
  crossEntropy: (a, t) => F.crossEntropy(a, t),
  binaryCrossEntropyWithLogits: (a, b) => F.binaryCrossEntropyWithLogits(a, b),
  cat: (a, b) => cat([a, b]),
  stack: (a, b) => stack([a, b]),
  add: (a, b) => a.add(b),
  relu: (a) => a.relu(),
  softmax: (a) => a.softmax(-1),
  logSoftmax: (a) => a.logSoftmax(-1),
  logsumexp: (a) => a.logsumexp(-1),
  sum: (a) => a.sum(),
  mean: (a) => a.mean(),
  layerNorm: (a) => F.layerNorm(a, [a.shape[a.ndim - 1]]),
};

const make = ({ shape, dtype }: PolicyCase['args'][number]): Tensor => (dtype === 'int32' ? randint(0, 4, shape) : randn(shape).to(dtype));
const bits = (t: Tensor) => [t.dtype, t.shape, Array.from(t.dataSync())];
const bf16 = (t: Tensor) => t.to('bfloat16');
const CPU = { device: 'cpu' } as const;

describe('autocast: the op policy table against torch.autocast("cpu", dtype=torch.bfloat16)', () => {
  const cases = loadFixture<{ cases: PolicyCase[] }>('autocast-policy.json').cases;
  it.each(cases.map((c) => [`${c.op}(${c.args.map((a) => a.dtype).join(', ')}) -> ${c.autocast}`, c] as const))('%s', (_, c) => {
    manualSeed(0);
    const inputs = c.args.map(make);
    // torch 1.13 has no bfloat16 mse_loss on the CPU (null there); tsgrad has one, so only torch's answers are compared.
    if (c.plain !== null) expect(OPS[c.op](...inputs).dtype).toBe(c.plain);
    expect(autocast(CPU, () => OPS[c.op](...inputs)).dtype).toBe(c.autocast);
  });

  it('scaledDotProductAttention runs in the autocast dtype (2.x lists it; 1.13 has no public SDPA): equal to explicit casts', () => {
    manualSeed(1);
    const [q, k, v] = [randn([1, 2, 5, 4]), randn([1, 2, 5, 4]), randn([1, 2, 5, 4])];
    const got = autocast(CPU, () => F.scaledDotProductAttention(q, k, v, { isCausal: true }));
    expect(bits(got)).toEqual(bits(F.scaledDotProductAttention(bf16(q), bf16(k), bf16(v), { isCausal: true })));
  });
});

describe('autocast: an MLP forward and backward equals explicit casts bit for bit', () => {
  function mlp() {
    manualSeed(2);
    return new Sequential(new Linear(6, 16), new ReLU(), new Linear(16, 3));
  }
  it.each(['bfloat16', 'float16'] as const)('%s: logits in the autocast dtype, loss float32, float32 gradients equal to the hand-cast graph', (dtype) => {
    const model = mlp();
    const x = randn([9, 6]);
    const y = randint(0, 3, [9]);
    const loss = autocast({ device: 'cpu', dtype }, () => {
      const logits = model.forward(x);
      expect(logits.dtype).toBe(dtype);
      return F.crossEntropy(logits, y);
    });
    expect(loss.dtype).toBe('float32');
    loss.backward();

    // By hand: the same parameters as separate float32 leaves, every cast written out.
    const ref = mlp();
    const [w1, b1, w2, b2] = ref.parameters();
    const c = (t: Tensor) => t.to(dtype);
    const h = F.linear(c(x), c(w1), c(b1)).relu();
    const refLoss = F.crossEntropy(F.linear(h, c(w2), c(b2)).to('float32'), y);
    refLoss.backward();
    expect(bits(loss)).toEqual(bits(refLoss));
    model.parameters().forEach((p, i) => {
      expect(p.grad!.dtype).toBe('float32');
      expect(bits(p.grad!)).toEqual(bits(ref.parameters()[i].grad!));
    });
  });

  it('a parameter used twice is cast once (the weight cache), twice with cacheEnabled false: each gives the matching hand-cast gradient', () => {
    const x = randn([4, 5]);
    for (const cacheEnabled of [true, false]) {
      const w = randn([5, 5], { requiresGrad: true });
      autocast({ device: 'cpu', cacheEnabled }, () => x.matmul(w).matmul(w).to('float32').sum()).backward();
      // One cast node sums both uses' gradients in bfloat16 before widening them; two casts widen each first.
      const wr = w.detach().requiresGrad_();
      const once = wr.to('bfloat16');
      const [first, second] = cacheEnabled ? [once, once] : [wr.to('bfloat16'), wr.to('bfloat16')];
      x.to('bfloat16').matmul(first).matmul(second).to('float32').sum().backward();
      expect(bits(w.grad!)).toEqual(bits(wr.grad!));
    }
  });

  it('a float16 autocast nested in a bfloat16 one casts a parameter to float16 (the cache is per dtype; PyTorch\'s hands out the bfloat16 cast and mm fails)', () => {
    const w = randn([4, 4], { requiresGrad: true });
    const x = randn([2, 4]);
    const loss = autocast(CPU, () => {
      const h = x.matmul(w); // bfloat16, caches w's bfloat16 cast
      const g = autocast({ device: 'cpu', dtype: 'float16' }, () => x.matmul(w)); // float16
      expect([h.dtype, g.dtype]).toEqual(['bfloat16', 'float16']);
      return h.to('float32').sum().add(g.to('float32').sum());
    });
    loss.backward();
    const wr = w.detach().requiresGrad_();
    bf16(x).matmul(bf16(wr)).to('float32').sum().add(x.to('float16').matmul(wr.to('float16')).to('float32').sum()).backward();
    expect(bits(w.grad!)).toEqual(bits(wr.grad!));
  });

  it('the weight cache survives a scope() nested in the autocast', () => {
    const w = randn([3, 3], { requiresGrad: true });
    const x = randn([2, 3]);
    const loss = autocast(CPU, () => {
      scope(() => x.matmul(w).sum());
      return x.matmul(w).to('float32').sum(); // reuses the cast made inside the finished scope
    });
    loss.backward();
    const wr = w.detach().requiresGrad_();
    x.to('bfloat16').matmul(wr.to('bfloat16')).to('float32').sum().backward();
    expect(bits(w.grad!)).toEqual(bits(wr.grad!));
  });
});

describe("autocast: a parameter's cast is cast again in backward, not held by the graph", () => {
  /** x @ w under autocast, its loss made in a scope of its own; the bytes live after it, above before. */
  function heldAfterForward(x: Tensor, w: Tensor, backward: (loss: Tensor) => void): number {
    let held = 0;
    scope(() => {
      const base = cpuMemoryStats().bytesInUse;
      const loss = scope(() => autocast(CPU, () => x.matmul(w).to('float32').sum()));
      held = cpuMemoryStats().bytesInUse - base;
      backward(loss);
    });
    return held;
  }
  /** The same graph with the casts written out (what PyTorch's graph holds): the float32 gradients to compare. */
  function handCast(x: Tensor, w: Tensor): Tensor[] {
    const [xr, wr] = [x.detach().requiresGrad_(x.requiresGrad), w.detach().requiresGrad_()];
    bf16(xr).matmul(bf16(wr)).to('float32').sum().backward();
    return [xr, wr];
  }

  it('x @ w with both requiring grad: only the float32 loss is held after forward (PyTorch holds both casts), and the gradients are the hand-cast graph\'s bit for bit', () => {
    manualSeed(3);
    const [x, w] = [randn([8, 256], { requiresGrad: true }), randn([256, 256], { requiresGrad: true })];
    const held = heldAfterForward(x, w, (l) => l.backward());
    // The casts' 4,096 + 131,072 B are freed when autocast exits; the loss's 4 B stay.
    expect(held).toBe(4);
    const [xr, wr] = handCast(x, w);
    expect(bits(x.grad!)).toEqual(bits(xr.grad!));
    expect(bits(w.grad!)).toEqual(bits(wr.grad!));
  });

  it('an input that needs no gradient (the batch) is held as itself while it is alive, not as its cast (PyTorch holds the cast), and the gradients are the same bits', () => {
    manualSeed(4);
    const [x, w] = [randn([8, 256]), randn([256, 256], { requiresGrad: true })];
    expect(heldAfterForward(x, w, (l) => l.backward())).toBe(4);
    expect(bits(w.grad!)).toEqual(bits(handCast(x, w)[1].grad!));
    // A frozen weight (a float32 leaf that needs no gradient) the same way: only the loss is held.
    const frozen = w.detach();
    const input = x.detach().requiresGrad_();
    expect(heldAfterForward(input, frozen, (l) => l.backward())).toBe(4);
    expect(bits(input.grad!)).toEqual(bits(handCast(input, frozen)[0].grad!));
  });

  it.each(['bfloat16', 'float16'] as const)("%s: backward's matmul reads the batch rounded as it reads it, the cast never made (a batch at an offset too, special values included); a transposed batch is cast: the same bits", (dtype) => {
    manualSeed(9);
    const base = randn([12, 64]).mul(300);
    // In rows 4..7, which every batch below holds: NaN, ±inf, ±65520 (±inf in float16), a float16 subnormal, −0.
    noGrad(() => [NaN, Infinity, -Infinity, 65520, -65520, 1e-7, -0].forEach((v, i) => base.narrow(0, 4 + (i % 4), 1).narrow(1, 9 * i, 1).fill_(v)));
    const w = randn([64, 16], { requiresGrad: true });
    const scale = randn([8, 16]);
    const cpu = getBackend('cpu');
    const matmul = vi.spyOn(cpu, 'matmul');
    const casts = vi.spyOn(cpu, 'cast');
    try {
      for (const [layout, x, rounded] of [
        ['whole', base.narrow(0, 0, 8).contiguous(), true],
        ['rows 4..11 of a larger batch (an offset)', base.narrow(0, 4, 8), true],
        ['transposed', base.narrow(0, 2, 8).t().contiguous().t(), false],
      ] as const) {
        w.grad = null;
        // The forward in a scope of its own (as the README trains): the batch's cast goes with it.
        const loss = scope(() => autocast({ device: 'cpu', dtype }, () => x.matmul(w).to('float32').mul(scale).sum()));
        [matmul, casts].forEach((spy) => spy.mockClear());
        loss.backward();
        const roundingReads = matmul.mock.calls.filter(([a, b]) => roundsOnRead(a) || roundsOnRead(b)).length;
        const batchCasts = casts.mock.calls.filter(([v, to]) => to === dtype && v.shape.join() === '8,64').length;
        expect([roundingReads, batchCasts], layout).toEqual(rounded ? [1, 0] : [0, 1]);
        const wr = w.detach().requiresGrad_();
        x.to(dtype).matmul(wr.to(dtype)).to('float32').mul(scale).sum().backward();
        expect(bits(w.grad!), layout).toEqual(bits(wr.grad!));
        expect(Array.from(w.grad!.dataSync()).filter((v) => !Number.isFinite(v)).length, `${layout}: the NaN and ±inf rows of the gradient`).toBeGreaterThanOrEqual(3 * 16);
      }
    } finally {
      matmul.mockRestore();
      casts.mockRestore();
    }
  });

  it('backward run inside an autocast of the other half dtype: matmul\'s rule casts the rounding view it is handed, which reads as the cast it stands for (every op but matmul and the views does): the hand-cast gradients', () => {
    manualSeed(10);
    const [x, w] = [randn([8, 64]), randn([64, 16], { requiresGrad: true })];
    const loss = scope(() => autocast(CPU, () => x.matmul(w).to('float32').sum()));
    autocast({ device: 'cpu', dtype: 'float16' }, () => loss.backward());
    // The rule's product ran in float16: g and the batch's bfloat16 cast, each cast to float16.
    const wr = w.detach().requiresGrad_();
    const g = bf16(x).matmul(bf16(wr)).to('float32').sum();
    const want = bf16(x).to('float16').t().matmul(ones([8, 16], { dtype: 'float16' })).to('float32');
    expect(bits(w.grad!)).toEqual(bits(want));
    g.backward();
    expect(w.grad!.sub(wr.grad!).abs().max().item()).toBeLessThan(0.01 * wr.grad!.abs().max().item()); // float16 products, not bfloat16's
    // Any op but matmul and the views reads a rounding view as the cast (a copy of it, made there).
    const x32 = randn([6, 10]);
    const rounding = new Tensor({ ...x32.toView(), dtype: 'bfloat16' });
    const cast = bf16(x32);
    for (const [name, f] of [
      ['exp', (t: Tensor) => t.exp()],
      ['to(float16)', (t: Tensor) => t.to('float16')],
      ['sum', (t: Tensor) => t.sum(1)],
      ['a reshape that copies', (t: Tensor) => t.t().reshape([60])],
      ['contiguous', (t: Tensor) => t.t().contiguous()],
      ['matmul', (t: Tensor) => t.matmul(cast.t())],
    ] as const) expect(bits(f(rounding)), name).toEqual(bits(f(cast)));
  });

  it("an input dropped before backward (made inside the forward's scope): its cast is made as it goes and held, as PyTorch holds it; the gradients are the same bits", () => {
    manualSeed(4);
    const [x, w] = [randn([8, 256]), randn([256, 256], { requiresGrad: true })];
    const w2 = w.detach().requiresGrad_();
    let held = 0;
    scope(() => {
      const base = cpuMemoryStats().bytesInUse;
      const loss = scope(() => autocast(CPU, () => scope(() => x.detach().mul(1)).matmul(w2).to('float32').sum()));
      held = cpuMemoryStats().bytesInUse - base;
      loss.backward();
    });
    expect(held).toBe(8 * 256 * 2 + 4);
    expect(bits(w2.grad!)).toEqual(bits(handCast(x, w)[1].grad!));
  });

  it('an input dropped before backward and read by two ops, backward run twice (retainGraph): each node casts it as it goes, the gradients are the hand-cast graph\'s', () => {
    manualSeed(8);
    const [x, w, v] = [randn([8, 64]), randn([64, 32], { requiresGrad: true }), randn([64, 16], { requiresGrad: true })];
    const loss = scope(() =>
      autocast(CPU, () => {
        const batch = scope(() => x.detach().mul(1)); // dropped when this scope ends
        return batch.matmul(w).to('float32').sum().add(batch.matmul(v).to('float32').square().sum());
      }),
    );
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    const [wr, vr] = [w.detach().requiresGrad_(), v.detach().requiresGrad_()];
    const handLoss = bf16(x).matmul(bf16(wr)).to('float32').sum().add(bf16(x).matmul(bf16(vr)).to('float32').square().sum());
    handLoss.backward(undefined, { retainGraph: true });
    handLoss.backward();
    expect(bits(w.grad!)).toEqual(bits(wr.grad!));
    expect(bits(v.grad!)).toEqual(bits(vr.grad!));
  });

  it('an input whose handle is gone already, its memory held by another graph node, when an autocast op reads it: the node holds its cast at once', () => {
    manualSeed(14);
    const [x, w, v] = [randn([3, 4]), randn([4, 2], { requiresGrad: true }), randn([4, 2], { requiresGrad: true })];
    const copy = x.clone();
    const other = x.matmul(v).sum(); // a float32 node keeps x for v's gradient
    x.dispose(); // x's memory is held by that node only; the handle still reads it
    autocast(CPU, () => x.matmul(w).to('float32').sum())
      .add(other)
      .backward();
    expect(bits(w.grad!)).toEqual(bits(handCast(copy, w)[1].grad!));
  });

  it('an input that needs no gradient written in place between forward and backward is an Error naming it, whether or not it was dropped after', () => {
    const w = randn([4, 2], { requiresGrad: true });
    // Contiguous, the batch reaches matmul as a rounding view; transposed, as its cast.
    const contiguous = randn([3, 4]);
    const written = autocast(CPU, () => contiguous.matmul(w).to('float32').sum());
    noGrad(() => contiguous.mul_(2));
    expect(() => written.backward()).toThrow(
      /modified by an inplace operation: input 0 of matmul is a float32 tensor outside the graph \(shape \[3, 4\]\) that autocast reads as bfloat16 \(rounded as matmul loads it\) instead of keeping its cast; the tensor is at version 1; expected version 0 instead\. Run backward before modifying the tensor, as without autocast/,
    );
    const transposed = randn([4, 3]).t();
    const writtenT = autocast(CPU, () => transposed.matmul(w).to('float32').sum());
    noGrad(() => transposed.mul_(2));
    expect(() => writtenT.backward()).toThrow(
      /modified by an inplace operation: input 0 of matmul is the bfloat16 cast of a float32 tensor outside the graph \(shape \[3, 4\], dtype float32\), which autocast casts again in backward instead of keeping; the tensor is at version 1; expected version 0 instead\. Run backward before modifying the tensor, as without autocast/,
    );
    for (const layout of [(t: Tensor) => t, (t: Tensor) => t.t().contiguous().t()]) {
      const dropped = scope(() => {
        const batch = layout(randn([3, 4]));
        const loss = autocast(CPU, () => batch.matmul(w).to('float32').sum());
        noGrad(() => batch.add_(1));
        return loss; // the batch goes here: written, so its cast is not made from the new values
      });
      expect(() => dropped.backward()).toThrow(/input 0 of matmul .*float32 tensor outside the graph \(shape \[3, 4\].*version 1; expected version 0 instead/);
    }
  });

  it.each(['bfloat16', 'float16'] as const)("%s: the forward makes no cast of a contiguous batch or frozen weight (matmul and linear read them rounded as they load them), the graph holds none, and the results are the hand-cast graph's bit for bit", (dtype) => {
    manualSeed(12);
    const x = randn([16, 32]).mul(100);
    const frozen = randn([32, 24]);
    const layer = new Linear(32, 24);
    const w = randn([24, 8], { requiresGrad: true });
    const casts = vi.spyOn(getBackend('cpu'), 'cast');
    let y16: Tensor | undefined;
    try {
      const loss = scope(() =>
        autocast({ device: 'cpu', dtype }, () => {
          const h = layer.forward(x); // linear with a bias: x rounded, the weight and bias cast (the cache)
          const z = x.matmul(frozen); // a frozen weight rounded too
          y16 = keep(h.add(z).matmul(w));
          return y16.to('float32').square().sum();
        }),
      );
      const of = (shape: number[]) => casts.mock.calls.filter(([v, to]) => to === dtype && v.dtype === 'float32' && v.shape.join() === shape.join()).length;
      expect([of([16, 32]), of([32, 24])], 'casts of the batch and the frozen weight in forward').toEqual([0, 0]);
      expect([of([24, 32]), of([24])], "the layer's weight and bias are cast (parameters: the weight cache)").toEqual([1, 1]);
      casts.mockClear();
      loss.backward();
      expect([of([16, 32]), of([32, 24]), of([24, 32])], 'in backward: the batch, the frozen weight, the layer\'s weight').toEqual([0, 0, 0]);
    } finally {
      casts.mockRestore();
    }
    const [wr, lw, lb] = [w, layer.weight, layer.bias!].map((p) => p.detach().requiresGrad_());
    const c = (t: Tensor) => t.to(dtype);
    const yr = matmulAdd(c(x), c(lw).t(), c(lb)).add(c(x).matmul(c(frozen))).matmul(c(wr));
    yr.to('float32').square().sum().backward();
    expect(bits(y16!)).toEqual(bits(yr));
    for (const [got, want] of [[w, wr], [layer.weight, lw], [layer.bias!, lb]] as const) expect(bits(got.grad!)).toEqual(bits(want.grad!));
  });

  it('outside every scope, disposing the batch after the forward lets its float32 memory go: the node holds its half cast (made then), as PyTorch holds the cast; the gradients are the same bits', () => {
    manualSeed(15);
    const [x, w] = [randn([32, 64]), randn([64, 8], { requiresGrad: true })];
    const copy = x.clone();
    const loss = autocast(CPU, () => x.matmul(w).to('float32').sum());
    const before = cpuMemoryStats().bytesInUse;
    x.dispose();
    expect(before - cpuMemoryStats().bytesInUse, 'the float32 batch freed, its bfloat16 cast held').toBe(32 * 64 * 4 - 32 * 64 * 2);
    loss.backward();
    expect(bits(w.grad!)).toEqual(bits(handCast(copy, w)[1].grad!));
  });

  it("a node's saved rounding view reads as the cast it stands for, and refuses writes", () => {
    manualSeed(16);
    const [x, w] = [randn([3, 4]), randn([4, 2], { requiresGrad: true })];
    const y = autocast(CPU, () => x.matmul(w));
    let node = y.gradFn;
    while (node && node.op !== 'matmul') node = node.next.find((t) => t?.gradFn)?.gradFn ?? null;
    const saved = node!.saved!.inputs[0];
    expect(saved.dtype).toBe('bfloat16');
    expect(bits(saved.reshape([3, 4]))).toEqual(bits(bf16(x)));
    expect(String(saved)).toBe(String(bf16(x).reshape([1, 3, 4])));
    expect(() => noGrad(() => saved.add_(1))).toThrow(/add_: this bfloat16 tensor is autocast's read of float32 memory \(rounded as a matmul loads it\), which cannot be written as bfloat16; write the float32 tensor it reads/);
  });

  it("a contiguous frozen weight given new data between forward and backward: the graph reads the memory it had, as PyTorch's reads the cast it kept (a strided one is an Error naming it)", () => {
    manualSeed(13);
    const x = randn([5, 6], { requiresGrad: true });
    const frozen = randn([6, 3]);
    const old = frozen.clone();
    const loss = scope(() => autocast(CPU, () => x.matmul(frozen).to('float32').sum()));
    noGrad(() => frozen.setData(randn([6, 3])));
    loss.backward();
    const xr = x.detach().requiresGrad_();
    bf16(xr).matmul(bf16(old)).to('float32').sum().backward();
    expect(bits(x.grad!)).toEqual(bits(xr.grad!));
    const strided = randn([3, 6]).t();
    const lossT = scope(() => autocast(CPU, () => x.matmul(strided).to('float32').sum()));
    noGrad(() => strided.setData(randn([6, 3])));
    expect(() => lossT.backward()).toThrow(/input 1 of matmul is the bfloat16 cast of a float32 tensor outside the graph \(shape \[6, 3\], dtype float32\).*has new data \(setData\)/);
  });

  it('backward inside the autocast reads the cast still cached; cacheEnabled: false casts again too', () => {
    manualSeed(5);
    const [x, w] = [randn([3, 4], { requiresGrad: true }), randn([4, 2], { requiresGrad: true })];
    autocast(CPU, () => x.matmul(w).to('float32').sum().backward());
    const [xr, wr] = handCast(x, w);
    expect(bits(x.grad!)).toEqual(bits(xr.grad!));
    expect(bits(w.grad!)).toEqual(bits(wr.grad!));
    x.grad = null;
    autocast({ device: 'cpu', cacheEnabled: false }, () => x.matmul(w).to('float32').sum()).backward();
    expect(bits(x.grad!)).toEqual(bits(xr.grad!));
  });

  it("a leaf made inside the forward's scope and let go: the node holds its memory, and backward casts it again", () => {
    const w = randn([4, 2], { requiresGrad: true });
    manualSeed(6);
    const loss = scope(() => autocast(CPU, () => randn([3, 4], { requiresGrad: true }).matmul(w).to('float32').sum()));
    loss.backward();
    manualSeed(6);
    expect(bits(w.grad!)).toEqual(bits(handCast(randn([3, 4], { requiresGrad: true }), w)[1].grad!));
  });

  it('a parameter written in place or given new data between forward and backward is an Error naming it (PyTorch would use its kept cast)', () => {
    const x = randn([3, 4], { requiresGrad: true });
    const w = randn([4, 2], { requiresGrad: true });
    const written = autocast(CPU, () => x.matmul(w).to('float32').sum());
    noGrad(() => w.mul_(2));
    expect(() => written.backward()).toThrow(
      /modified by an inplace operation: input 1 of matmul is the bfloat16 cast of a parameter \(shape \[4, 2\], dtype float32\), which autocast casts again in backward instead of keeping; the parameter is at version 1; expected version 0 instead/,
    );
    const replaced = autocast(CPU, () => x.matmul(w).to('float32').sum());
    noGrad(() => w.setData(randn([4, 2])));
    expect(() => replaced.backward()).toThrow(/cast of a parameter \(shape \[4, 2\], dtype float32\).* has new data \(setData\)\. Run backward before modifying the parameter/);
    // The same window onto the same memory, transposed: new data too.
    const square = randn([4, 4], { requiresGrad: true });
    const transposed = autocast(CPU, () => x.matmul(square).to('float32').sum());
    noGrad(() => square.setData(square.detach().t()));
    expect(() => transposed.backward()).toThrow(/cast of a parameter \(shape \[4, 4\], dtype float32\).* has new data \(setData\)/);
    // Whether the cast's memory is still alive (backward inside the autocast) does not matter.
    const v = randn([4, 2], { requiresGrad: true });
    expect(() =>
      autocast(CPU, () => {
        const inside = x.matmul(v).to('float32').sum();
        noGrad(() => v.add_(1));
        inside.backward();
      }),
    ).toThrow(/input 1 of matmul is the bfloat16 cast of a parameter \(shape \[4, 2\], dtype float32\).*version 1; expected version 0 instead/);
  });

  it('an autocast around whole training steps casts a parameter again once an optimizer step wrote it (PyTorch\'s cache would hand out the old cast)', () => {
    manualSeed(7);
    const [x, w] = [randn([3, 4]), randn([4, 2], { requiresGrad: true })];
    const seen: number[][] = [];
    const losses: number[] = [];
    autocast(CPU, () => {
      for (let step = 0; step < 2; step++) {
        seen.push(Array.from(w.dataSync()));
        const loss = x.matmul(w).to('float32').sum();
        loss.backward();
        noGrad(() => w.sub_(w.grad!.mul(0.5)));
        w.grad = null;
        losses.push(loss.item());
      }
    });
    // Each loss is that of the weights as they were at its step, cast afresh.
    seen.forEach((values, step) => expect(losses[step]).toBe(bf16(x).matmul(bf16(tensor(values).reshape([4, 2]))).to('float32').sum().item()));
    expect(losses[1]).not.toBe(losses[0]);
  });
});

describe('autocast: nesting, enabled, misuse', () => {
  it('enabled: false turns it off inside an autocast, a nested autocast turns it back on, and leaving restores the outer state', () => {
    const a = randn([2, 2]);
    autocast(CPU, () => {
      expect(a.matmul(a).dtype).toBe('bfloat16');
      autocast({ device: 'cpu', enabled: false }, () => {
        expect(isAutocastEnabled('cpu')).toBe(false);
        expect(a.matmul(a).dtype).toBe('float32');
        expect(autocast({ device: 'cpu', dtype: 'float16' }, () => a.matmul(a)).dtype).toBe('float16');
      });
      expect(isAutocastEnabled('cpu')).toBe(true);
    });
    expect(isAutocastEnabled('cpu')).toBe(false);
    expect(a.matmul(a).dtype).toBe('float32');
  });

  it('linear casts its bias too: one bfloat16 op (addmm: the bias before the one rounding), equal to x, w and b cast by hand', () => {
    const [x, w, b] = [randn([3, 4]), randn([2, 4]), randn([2])];
    const got = autocast(CPU, () => F.linear(x, w, b));
    expect(bits(got)).toEqual(bits(matmulAdd(bf16(x), bf16(w).t(), bf16(b))));
  });

  it('misuse is an Error naming the culprit', () => {
    const f = () => 0;
    expect(() => autocast({ device: 'cuda' }, f)).toThrow(/autocast: unknown device "cuda"; expected 'cpu' or 'webgpu'/);
    expect(() => autocast({ device: 'cpu', dtype: 'float32' as 'float16' }, f)).toThrow(/autocast: dtype "float32" is not a lower-precision dtype/);
    expect(() => autocast({ device: 'cpu', dtpye: 'float16' } as never, f)).toThrow(/autocast: unknown option 'dtpye'; did you mean 'dtype'\?/);
    expect(() => autocast({ device: 'cpu', enabled: 1 as unknown as boolean }, f)).toThrow(/autocast: enabled must be a boolean, got 1/);
    expect(() => autocast(CPU, async () => 0)).toThrow(/autocast: fn returned a Promise/);
    expect(isAutocastEnabled('cpu')).toBe(false);
  });
});
