import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tsgrad/autograd';
import * as nn from '@tsgrad/nn';
import { decodeTensor, expectClose, loadFixture, type EncodedTensor, type LayerCase } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

const { layers } = loadFixture<{ layers: LayerCase[] }>('nn.json');

function build(c: LayerCase): nn.Module {
  const Ctor = (nn as unknown as Record<string, new (...a: unknown[]) => nn.Module>)[c.layer];
  return Object.keys(c.options).length ? new Ctor(...c.args, c.options) : new Ctor(...c.args);
}

const toGpu = (e: EncodedTensor): Tensor => {
  const t = decodeTensor(e);
  return (t.dtype === 'float64' ? t.to('float32') : t).to('webgpu');
};
const flat = (e: EncodedTensor) => e.data.map(Number);
const tol = { rtol: 2e-4, atol: 5e-5 };

beforeAll(async () => {
  await gpu();
}, 60_000);

/** Every layer of the nn PyTorch fixtures, in float32 on WebGPU: outputs and gradients to float32 precision. */
describe('nn layers on webgpu match PyTorch (float32)', () => {
  it.each(layers.map((c) => [`${c.layer}(${JSON.stringify(c.args)}, ${JSON.stringify(c.options)}) ${c.mode}`, c] as const))('%s', async (_, c) => {
    const m = build(c);
    m.loadStateDict(new Map(Object.entries(c.stateDict).map(([k, v]) => [k, decodeTensor(v)])));
    m.to('webgpu').train(c.mode === 'train');
    const inputs = c.inputs.map((e) => {
      const t = toGpu(e).detach();
      return t.dtype === 'float32' ? t.requiresGrad_() : t;
    });
    const out = m.forward(...inputs);
    expect(out.device).toBe('webgpu');
    expectClose(await values(out), flat(c.output), { ...tol, what: 'output' });
    out.backward(toGpu(c.cotangent));
    for (const [i, g] of c.inputGrads.entries()) if (g) expectClose(await values(inputs[i].grad!), flat(g), { ...tol, what: `input ${i} grad` });
    const grads = new Map(m.namedParameters().map(([name, p]) => [nn.stateKey(name), p.grad]));
    for (const [k, g] of Object.entries(c.paramGrads)) expectClose(await values(grads.get(k)!), flat(g), { ...tol, what: `grad of ${k}` });
  }, 60_000);
});
