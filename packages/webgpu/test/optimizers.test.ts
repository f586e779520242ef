import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, tensor, type Tensor } from '@tsgrad/autograd';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, type Optimizer } from '@tsgrad/optim';
import { expectClose, loadFixture, optimTrajectoryCases, quadraticTrajectory, randomQuadratic, relativeDistance } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

interface OptimCase {
  name: string;
  optimizer: string;
  groups: { params: number[]; options: Record<string, unknown> }[];
  shapes: number[][];
  init: number[][];
}

const FUSED = { SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, RAdam, Adadelta } as Record<string, new (p: unknown) => Optimizer<{ lr: number }>>;
/** Every option set of the optim fixtures: every dense optimizer has a fused WebGPU kernel. */
const cases = loadFixture<{ cases: OptimCase[] }>('optim.json').cases.filter((c) => c.optimizer in FUSED);

function run(c: OptimCase, device: 'cpu' | 'webgpu') {
  const params = c.init.map((v, k) => tensor(v, { dtype: 'float32' }).reshape(c.shapes[k]).to(device).requiresGrad_());
  const opt = new FUSED[c.optimizer](c.groups.map((g) => ({ ...g.options, params: g.params.map((i) => params[i]) })));
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
  const CLASSES = { SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, RAdam, Adadelta };
  it.each(optimTrajectoryCases.map((c) => [`${c.optimizer} ${JSON.stringify(c.options)}`, c] as const))('%s', async (_, c) => {
    const q = randomQuadratic(1);
    const make = (params: Tensor[]) => new CLASSES[c.optimizer](params, c.options as never);
    const ref = await quadraticTrajectory(q, make, { dtype: 'float64' });
    const gpuRun = await quadraticTrajectory(q, make, { dtype: 'float32', device: 'webgpu' });
    expect(relativeDistance(gpuRun, ref)).toBeLessThan(1e-5);
  }, 60_000);
});
