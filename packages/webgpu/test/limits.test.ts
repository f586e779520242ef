import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedAttention, manualSeed, randn, randint, tensor, unaryOp, zeros, type Tensor } from '@tsgrad/autograd';
import * as optim from '@tsgrad/optim';
import { Adam, SGD, type Optimizer } from '@tsgrad/optim';
import { BINARY_OPS, UNARY_OPS, registerBackend, type UnaryOp } from '@tsgrad/tensor';
import { optimInfos, relativeDistance } from '@tsgrad/test-utils';
import { WebGPUBackend } from '@tsgrad/webgpu';
import { testDriver } from './drivers.js';
import { gpu } from './gpu.js';

/**
 * Operands past the device's binding limit, with lowered limits so that any adapter (SwiftShader's
 * included) exercises the paths: elementwise kernels, reductions, matmul and optimizer programs split
 * their dispatches into bindings below the limit and give the CPU's numbers; what cannot be split (a
 * strided view past the limit, matmul's right operand, a gather's source) is an Error naming the
 * limit and the size before anything is recorded, and the next operation works.
 */
let real: WebGPUBackend;
let capped: WebGPUBackend;
const BINDING = 1 << 20; // 1 MiB: 262,144 float32 elements per binding

beforeAll(async () => {
  real = await gpu();
  capped = new WebGPUBackend(real.gpu, 'capped for tests', {}, { maxStorageBufferBindingSize: BINDING, maxBufferSize: 64 << 20 });
  registerBackend(capped);
}, 60_000);

afterAll(() => {
  registerBackend(real);
});

const onGpu = async (t: Tensor) => Float64Array.from(await t.data());

describe('webgpu device limits: splitting past maxStorageBufferBindingSize', () => {
  it('the device was created with the adapter limits, not the WebGPU defaults', () => {
    expect(real.limits.maxStorageBufferBindingSize).toBe(real.gpu.limits.maxStorageBufferBindingSize);
    expect(real.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect(capped.limits).toMatchObject({ maxStorageBufferBindingSize: BINDING, maxBufferSize: 64 << 20 });
  });

  it('a tensor past maxBufferSize is an Error naming the limit and the size', () => {
    expect(() => zeros([17 << 20], { device: 'webgpu' })).toThrow(/zeros: cannot allocate memory .*shape \[17825792\].*exceeds this device's maxBufferSize \(67108864 bytes\)/);
  });

  it('elementwise ops, casts, copies and where over tensors 2-9 bindings long equal the CPU', async () => {
    manualSeed(1);
    const n = 600_001; // not a multiple of anything: the last chunk is ragged
    const a = randn([n]);
    const b = randn([n]);
    const ga = a.to('webgpu');
    const gb = b.to('webgpu');
    const bias = tensor([0.5]);
    const cases: [string, Tensor, Tensor][] = [
      ['add', a.add(b), ga.add(gb)],
      ['mul by a broadcast scalar tensor', a.mul(bias), ga.mul(bias.to('webgpu'))],
      ['exp', a.exp(), ga.exp()],
      ['where', a.where(a.gt(0), b), ga.where(ga.gt(0), gb)],
      ['cast to int32 and back', a.mul(10).to('int32').to('float32'), ga.mul(10).to('int32').to('float32')],
      ['2-d, broadcast rows', a.narrow(0, 0, 600_000).reshape([1200, 500]).add(b.narrow(0, 0, 500)), ga.narrow(0, 0, 600_000).reshape([1200, 500]).add(gb.narrow(0, 0, 500))],
      ['zeros, then an in-place add (copy)', zeros([n]).add_(a), zeros([n], { device: 'webgpu' }).add_(ga)],
    ];
    for (const [name, cpu, gpuResult] of cases) expect(relativeDistance(await onGpu(gpuResult), cpu.dataSync()), name).toBeLessThan(1e-6);
    // Split indeed: 600,001 elements are three bindings of 262,080 (1 MiB less the alignment slack).
    const before = capped.stats().dispatches;
    ga.add(gb);
    expect(capped.stats().dispatches - before).toBe(3);
    // Views that start inside a binding: a window not aligned to the binding offset alignment.
    expect(relativeDistance(await onGpu(ga.narrow(0, 3, 500_000).mul(2)), a.narrow(0, 3, 500_000).mul(2).dataSync())).toBeLessThan(1e-6);
  });

  it('reductions in blocks of rows: sum, max, min and mean over each dim and all, int32 sums included', async () => {
    manualSeed(2);
    const x = randn([1200, 500]); // 2.4 MB
    const g = x.to('webgpu');
    for (const [name, cpu, gpuResult] of [
      ['sum()', x.sum(), g.sum()],
      ['sum(0)', x.sum(0), g.sum(0)],
      ['sum(1)', x.sum(1), g.sum(1)],
      ['max(0)', x.max(0), g.max(0)],
      ['min()', x.min(), g.min()],
      ['mean(0)', x.mean(0), g.mean(0)],
    ] as [string, Tensor, Tensor][]) {
      expect(relativeDistance(await onGpu(gpuResult), cpu.dataSync()), name).toBeLessThan(1e-5);
    }
    const ints = randint(-100, 100, [700_000]);
    expect((await ints.to('webgpu').sum().data())[0]).toBe(ints.sum().item());
  });

  it('matmul in blocks of rows of A (B bound whole) equals the CPU; a right operand past the limit is an Error', async () => {
    manualSeed(3);
    const a = randn([1500, 300]); // 1.8 MB
    const b = randn([300, 40]);
    expect(relativeDistance(await onGpu(a.to('webgpu').matmul(b.to('webgpu'))), a.matmul(b).dataSync())).toBeLessThan(1e-5);
    // Batched, with a transposed A (rows of Aᵀ are strided: blocks still span the right elements).
    const batched = randn([3, 400, 300]);
    expect(relativeDistance(await onGpu(batched.to('webgpu').matmul(b.to('webgpu'))), batched.matmul(b).dataSync())).toBeLessThan(1e-5);
    const wide = randn([300, 1000]); // 1.2 MB
    expect(() => randn([4, 300]).to('webgpu').matmul(wide.to('webgpu'))).toThrow(
      /matmul: a float32 operand of shape \[1, 300, 1000\] \(1200000 bytes\) exceeds this device's maxStorageBufferBindingSize \(1048576 bytes\) and is the right operand/,
    );
  });

  it('optimizer steps on parameters several bindings long equal the CPU (Adam, SGD momentum)', async () => {
    for (const [name, make] of [
      ['Adam', (p: Tensor[]) => new Adam(p, { lr: 1e-2, weightDecay: 0.1 })],
      ['SGD', (p: Tensor[]) => new SGD(p, { lr: 1e-2, momentum: 0.9 })],
    ] as const) {
      manualSeed(4);
      const init = [randn([700_000]), randn([300]), randn([600_000])];
      const grads = [0, 1, 2].map(() => init.map((p) => randn(p.shape)));
      const cpu = init.map((p) => p.clone().requiresGrad_());
      const dev = init.map((p) => p.to('webgpu').requiresGrad_());
      const [oc, og] = [make(cpu), make(dev)];
      for (const g of grads) {
        cpu.forEach((p, i) => (p.grad = g[i]));
        dev.forEach((p, i) => (p.grad = g[i].to('webgpu')));
        oc.step();
        og.step();
      }
      for (let i = 0; i < init.length; i++) expect(relativeDistance(await onGpu(dev[i]), cpu[i].dataSync()), `${name} parameter ${i}`).toBeLessThan(1e-5);
    }
  });

  it('every unary and binary op of the op tables on 400,000 elements (two bindings) equals the CPU', async () => {
    manualSeed(6);
    const n = 400_000;
    // Positive operands keep log, sqrt and pow real; the sign flips exercise relu, abs, sign, comparisons.
    const x = randn([n]).abs().add(0.1);
    const signs = randn([n]);
    const y = randn([n]).abs().add(0.5);
    const gx = x.to('webgpu');
    const gs = signs.to('webgpu');
    const gy = y.to('webgpu');
    type Op = (a: Tensor, b: Tensor) => Tensor;
    const call = (name: string, arity: 1 | 2): Op => (a, b) => (arity === 1 ? unaryOp(name as UnaryOp, a) : (a as unknown as Record<string, (o: Tensor) => Tensor>)[name](b));
    for (const [name, info] of Object.entries(UNARY_OPS)) {
      // Positive operands where the op's domain is (log, sqrt, log1p).
      const input = info.domain[0] === 'positive' ? [x, gx] : [signs, gs];
      const op = call(name, 1);
      const want = op(input[0], input[0]).to('float32').dataSync();
      expect(relativeDistance(Float64Array.from(await op(input[1], input[1]).to('float32').data()), want), name).toBeLessThan(1e-5);
    }
    for (const name of Object.keys(BINARY_OPS)) {
      const op = call(name, 2);
      const [a, b, ga, gb] = name === 'pow' ? [x, y, gx, gy] : [signs, y, gs, gy];
      const want = op(a, b).to('float32').dataSync();
      expect(relativeDistance(Float64Array.from(await op(ga, gb).to('float32').data()), want), name).toBeLessThan(1e-5);
    }
  });

  it('every optimizer of the optimizer table steps parameters two bindings long as the CPU does', async () => {
    const classOf = (name: string) => (optim as unknown as Record<string, new (p: unknown, o?: object) => Optimizer<{ lr: number }>>)[name];
    for (const info of optimInfos.filter((i) => i.dense && !i.closure)) {
      manualSeed(7);
      const init = [randn([400_000]), randn([64, 100])];
      const cpu = init.map((p) => p.clone().requiresGrad_());
      const dev = init.map((p) => p.to('webgpu').requiresGrad_());
      const [oc, og] = [new (classOf(info.name))(cpu, info.options[0]), new (classOf(info.name))(dev, info.options[0])];
      for (let t = 0; t < 3; t++) {
        const grads = init.map((p) => randn(p.shape).mul(0.1));
        cpu.forEach((p, i) => (p.grad = grads[i]));
        dev.forEach((p, i) => (p.grad = grads[i].to('webgpu')));
        oc.step();
        og.step();
      }
      for (let i = 0; i < init.length; i++) expect(relativeDistance(await onGpu(dev[i]), cpu[i].dataSync()), `${info.name} parameter ${i}`).toBeLessThan(1e-5);
    }
  });

  it('a binding limit too small to split by (a lowered one: WebGPU\u2019s minimum is 128 MiB) is an Error, not an endless split', () => {
    const tiny = new WebGPUBackend(real.gpu, 'tiny limit for tests', {}, { maxStorageBufferBindingSize: real.gpu.limits.minStorageBufferOffsetAlignment, maxBufferSize: 64 << 20 });
    registerBackend(tiny);
    try {
      const x = tensor(Float32Array.from({ length: 4096 }, (_, i) => i)).to('webgpu');
      expect(() => x.to('float16')).toThrow(/maxStorageBufferBindingSize of \d+ bytes leaves no room for a chunk past the \d+-byte binding alignment/);
    } finally {
      registerBackend(capped);
    }
  });

  it('what cannot be split is an Error naming the limit and the size, and the next operation works', async () => {
    const pending = tensor([1, 2, 3]).to('webgpu').mul(2); // recorded before the failure, not yet submitted
    const big = randn([1000, 600]).to('webgpu'); // 2.4 MB
    // A strided view past the limit (a transpose) cannot be cut into bindings.
    expect(() => big.t().contiguous()).toThrow(/copy: a float32 operand of shape \[600, 1000\] \(2400000 bytes\) exceeds this device's maxStorageBufferBindingSize \(1048576 bytes\) and is a strided view/);
    // A gather reads its source anywhere: it is bound whole (the Error names the kernel).
    expect(() => big.indexSelect(0, tensor([0, 999], { dtype: 'int32' }).to('webgpu'))).toThrow(/^webgpu: gather: an operand of 2400000 bytes exceeds this device's maxStorageBufferBindingSize \(1048576 bytes\)/);
    // The fused attention binds its operands and float32 results whole: a float32 query of 1,075,200
    // bytes is past the limit; in float16 it is 537,600 bytes, but its float32 output is not.
    const q = randn([1, 1, 4200, 64]).to('webgpu');
    expect(() => fusedAttention(q, q, q, { scale: 0.125 })).toThrow(/attention: a float32 operand of shape \[1, 1, 4200, 64\] \(1075200 bytes\) exceeds this device's maxStorageBufferBindingSize \(1048576 bytes\) and the fused attention binds it whole/);
    const h = randn([1, 1, 4200, 64]).to('float16').to('webgpu');
    expect(() => fusedAttention(h, h, h, { scale: 0.125 })).toThrow(/attention: a float32 operand of shape \[1, 1, 4200, 64\] \(1075200 bytes\) exceeds .* is a result the fused attention binds whole/);
    const after = tensor([4, 5]).to('webgpu').add(1);
    expect(Array.from(await pending.data())).toEqual([2, 4, 6]);
    expect(Array.from(await after.data())).toEqual([5, 6]);
  });
});

describe('webgpu: tensors past the WebGPU default 128 MiB binding, on the adapter limits', () => {
  it("elementwise, reductions, matmul and an Adam step on 136 MB tensors equal the CPU; a 134.4 MB embedding lookup too, or past the adapter's binding limit is its Error", async () => {
    registerBackend(real);
    try {
      manualSeed(5);
      const n = 34_000_000; // 136 MB of float32: past the 134,217,728-byte default
      expect(n * 4).toBeGreaterThan(128 * 1024 * 1024);
      const a = randn([n]);
      const ga = a.to('webgpu');
      expect(relativeDistance(await onGpu(ga.mul(2).add(1)), a.mul(2).add(1).dataSync())).toBeLessThan(1e-6);
      expect(Math.abs((await ga.sum().data())[0] - a.to('float64').sum().item())).toBeLessThan(1e-4 * Math.sqrt(n));
      // A [34000, 1000] matrix times [1000, 4].
      const w = randn([1000, 4]);
      const m = ga.reshape([34_000, 1000]);
      expect(relativeDistance(await onGpu(m.matmul(w.to('webgpu'))), a.reshape([34_000, 1000]).matmul(w).dataSync())).toBeLessThan(1e-5);
      // An embedding table of 48,000 × 700 (134.4 MB): rows looked up anywhere in it, so it is bound
      // whole. Past an adapter's own binding limit (lavapipe's is the default 128 MiB) that is the Error
      // naming it; within it (SwiftShader's), the CPU's rows.
      const table = a.narrow(0, 0, 33_600_000).reshape([48_000, 700]);
      const ids = tensor([0, 47_999, 12_345], { dtype: 'int32' });
      const lookup = () => table.to('webgpu').indexSelect(0, ids.to('webgpu'));
      // SwiftShader's limit is known to hold it: there the lookup must be computed.
      if (testDriver() === 'swiftshader') expect(real.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(134_400_000);
      if (real.limits.maxStorageBufferBindingSize < 134_400_000) {
        expect(lookup).toThrow(`an operand of 134400000 bytes exceeds this device's maxStorageBufferBindingSize (${real.limits.maxStorageBufferBindingSize} bytes)`);
      } else {
        expect(relativeDistance(await onGpu(lookup()), table.indexSelect(0, ids).dataSync())).toBe(0);
      }
      // One Adam step on the 136 MB parameter.
      const g = randn([n]).mul(0.1);
      const pc = a.clone().requiresGrad_();
      const pg = ga.detach().requiresGrad_();
      pc.grad = g;
      pg.grad = g.to('webgpu');
      new Adam([pc], { lr: 1e-3 }).step();
      new Adam([pg], { lr: 1e-3 }).step();
      expect(relativeDistance(await onGpu(pg), pc.dataSync())).toBeLessThan(1e-6);
    } finally {
      registerBackend(capped);
    }
  }, 300_000);
});
