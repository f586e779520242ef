import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, tensor } from '@tsgrad/autograd';
import { expectClose, opInfos, SampleMaker } from '@tsgrad/test-utils';
import { gpu, toGpu, values } from './gpu.js';

/**
 * The op table (opInfos) on 'webgpu' in float32, against the CPU in float64: forward values and the
 * gradients of every input, to float32 precision. No op is skipped.
 */
const rows = opInfos.flatMap((info) => info.samples(new SampleMaker(info.name.length * 131)).map((s) => [`${info.name}: ${s.note}`, info, s] as const));

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('webgpu conformance with the CPU float64 reference (opInfos, forward and backward)', () => {
  it.each(rows)('%s', async (_, info, sample) => {
    const cpuInputs = sample.inputs;
    const gpuInputs = cpuInputs.map(toGpu);
    const ref = info.fn(cpuInputs, sample.args);
    const out = info.fn(gpuInputs, sample.args);
    expect(out.device).toBe('webgpu');
    expect(out.shape).toEqual(ref.shape);
    const tol = { rtol: 1e-4, atol: 2e-5 };
    expectClose(await values(out), Array.from(ref.detach().dataSync(), Number), { ...tol, what: 'forward' });
    if (!info.differentiable) return;
    const gen = new Generator(7);
    const v = tensor(Float64Array.from({ length: ref.numel() }, () => gen.normal())).reshape(ref.shape);
    ref.backward(v);
    out.backward(toGpu(v.to('float32')));
    for (const [k, x] of cpuInputs.entries()) {
      if (!x.requiresGrad) continue;
      const g = gpuInputs[k].grad;
      expect(g, `grad of input ${k}`).not.toBeNull();
      expect(g!.device).toBe('webgpu');
      expectClose(await values(g!), Array.from(x.grad!.dataSync(), Number), { ...tol, what: `grad of input ${k}` });
    }
  });
});
