import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, tensor, type Tensor } from '@tsgrad/autograd';
import * as optim from '@tsgrad/optim';
import { Adam, AdamW, SGD, type Optimizer } from '@tsgrad/optim';
import { expectClose, loadFixture, optimInfos, optimTrajectoryCases, quadraticTrajectory, randomQuadratic, relativeDistance } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

interface OptimCase {
  name: string;
  optimizer: string;
  groups: { params: number[]; options: Record<string, unknown> }[];
  shapes: number[][];
  init: number[][];
}

/** A class of @tsgrad/optim by name (the optimInfos table and the fixtures name them). */
const classOf = (name: string) => (optim as unknown as Record<string, new (p: unknown, o?: object) => Optimizer<{ lr: number }>>)[name];
const dense = new Set(optimInfos.filter((i) => i.dense).map((i) => i.name as string));
/** Every option set of the optim fixtures of every dense optimizer (all run their programs on WebGPU). */
const cases = loadFixture<{ cases: OptimCase[] }>('optim.json').cases.filter((c) => dense.has(c.optimizer));

function run(c: OptimCase, device: 'cpu' | 'webgpu') {
  const params = c.init.map((v, k) => tensor(v, { dtype: 'float32' }).reshape(c.shapes[k]).to(device).requiresGrad_());
  const opt = new (classOf(c.optimizer))(c.groups.map((g) => ({ ...g.options, params: g.params.map((i) => params[i]) })));
  return { params, opt };
}

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('fused optimizer kernels on webgpu follow the CPU float32 path for 50 steps (1e-5)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const cpu = run(c, 'cpu');
    const dev = run(c, 'webgpu');
    const gen = new Generator(99);
    for (let t = 0; t < 50; t++) {
      if (t === 25) for (const o of [cpu.opt, dev.opt]) for (const g of o.paramGroups) g.lr *= 0.5;
      cpu.params.forEach((p, k) => {
        // A parameter without a gradient on some steps is skipped by both (PyTorch's rule).
        if (k === 1 && t % 4 === 2) {
          p.grad = null;
          dev.params[k].grad = null;
          return;
        }
        const g = tensor(Float32Array.from({ length: p.numel() }, () => gen.normal())).reshape(p.shape);
        p.grad = g;
        dev.params[k].grad = g.to('webgpu');
      });
      cpu.opt.step();
      dev.opt.step();
    }
    for (const [k, p] of cpu.params.entries()) {
      expect(dev.params[k].device).toBe('webgpu');
      expectClose(await values(dev.params[k]), Array.from(p.dataSync(), Number), { rtol: 1e-5, atol: 1e-6, what: `param ${k}` });
    }
    const state = dev.opt.state.get(dev.params[0])!;
    for (const v of Object.values(state)) if (typeof v === 'object') expect((v as Tensor).device).toBe('webgpu');
  }, 120_000);
});

describe('float32 trajectories on webgpu follow float64 on random quadratics (50 steps, 1e-5)', () => {
  it.each(optimTrajectoryCases.map((c) => [`${c.optimizer} ${JSON.stringify(c.options)}`, c] as const))('%s', async (_, c) => {
    const q = randomQuadratic(1);
    const make = (params: Tensor[]) => new (classOf(c.optimizer))(params, c.options);
    const ref = await quadraticTrajectory(q, make, { dtype: 'float64' });
    const gpuRun = await quadraticTrajectory(q, make, { dtype: 'float32', device: 'webgpu' });
    expect(relativeDistance(gpuRun, ref)).toBeLessThan(1e-5);
  });
});

describe('one step of a parameter group is a constant number of dispatches (multi-tensor)', () => {
  it.each([['Adam', (p: Tensor[]) => new Adam(p, { lr: 1e-3 })], ['SGD momentum', (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9 })]] as const)(
    '%s: 10 and 300 small tensors cost the same dispatches per step, and the values follow the CPU',
    async (_, make) => {
      const backend = await gpu();
      const perStep = async (count: number) => {
        const gen = new Generator(count);
        const inits = Array.from({ length: count }, (_, k) => Float32Array.from({ length: 10 + (k % 7) * 50 }, () => gen.normal()));
        const cpuParams = inits.map((v) => tensor(v).requiresGrad_());
        const gpuParams = inits.map((v) => tensor(v).to('webgpu').requiresGrad_());
        const [cpuOpt, gpuOpt] = [make(cpuParams), make(gpuParams)];
        let dispatches = 0;
        for (let step = 0; step < 3; step++) {
          inits.forEach((v, k) => {
            const g = tensor(v.map((x) => Math.sin(x * (step + 1))));
            cpuParams[k].grad = g;
            gpuParams[k].grad = g.to('webgpu');
          });
          const before = backend.stats().programDispatches;
          gpuOpt.step();
          dispatches = backend.stats().programDispatches - before;
          cpuOpt.step();
        }
        const got = (await Promise.all(gpuParams.map((p) => values(p)))).flat();
        expectClose(got, cpuParams.flatMap((p) => Array.from(p.dataSync(), Number)), { rtol: 1e-5, atol: 1e-6, what: `${count} tensors` });
        return dispatches;
      };
      const few = await perStep(10);
      const many = await perStep(300);
      expect(few).toBe(1);
      expect(many).toBe(few);
    },
  );

  it("AdamW's packed scratch is at most 1 MiB a stream, however large the group: 2.4M elements in 24 tensors step in 12 dispatches, the CPU's values", async () => {
    const backend = await gpu();
    const gen = new Generator(7);
    const inits = Array.from({ length: 24 }, () => Float32Array.from({ length: 100_000 }, () => gen.normal()));
    const cpuParams = inits.map((v) => tensor(v).requiresGrad_());
    const gpuParams = inits.map((v) => tensor(v).to('webgpu').requiresGrad_());
    const [cpuOpt, gpuOpt] = [new AdamW(cpuParams, { lr: 1e-2 }), new AdamW(gpuParams, { lr: 1e-2 })];
    let scratch = 0;
    let dispatches = 0;
    for (let step = 0; step < 2; step++) {
      inits.forEach((v, k) => {
        const g = tensor(v.map((x) => Math.cos(x * (step + 2))));
        cpuParams[k].grad = g;
        gpuParams[k].grad = g.to('webgpu');
      });
      backend.pool.resetPeak();
      const [before, programs] = [backend.stats().bytesInUse, backend.stats().programDispatches];
      gpuOpt.step();
      // The second step's: the state (exp_avg, exp_avg_sq) exists by then.
      scratch = backend.stats().peakBytesInUse - before;
      dispatches = backend.stats().programDispatches - programs;
      cpuOpt.step();
    }
    // Two 100,000-element tensors a batch: four streams (param, grad, exp_avg, exp_avg_sq) of 800 kB,
    // in the pool's size classes. With one batch for the group it was four of 9.6 MB.
    expect(scratch).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(dispatches).toBe(12);
    const got = (await Promise.all(gpuParams.map((p) => values(p)))).flat();
    expectClose(got, cpuParams.flatMap((p) => Array.from(p.dataSync(), Number)), { rtol: 1e-5, atol: 1e-6, what: 'AdamW, 24 tensors' });
  });
});
