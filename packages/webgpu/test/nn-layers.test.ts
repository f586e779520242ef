import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tsgrad/autograd';
import * as nn from '@tsgrad/nn';
import { constructLayer, decodeTensor, expectClose, layerFixtureCases, layerInfos, type EncodedTensor } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

const cases = layerFixtureCases();

const toGpu = (e: EncodedTensor): Tensor => {
  const t = decodeTensor(e);
  return (t.dtype === 'float64' ? t.to('float32') : t).to('webgpu');
};
const flat = (e: EncodedTensor) => e.data.map(Number);
// float32 against the float64 reference, to float32 precision (DEVELOPERS.md: about 1e-5).
const tol = { rtol: 1e-5, atol: 1e-5 };

beforeAll(async () => {
  await gpu();
}, 60_000);

const rows = layerInfos.flatMap((r) => r.configs.map((cfg) => [`${r.name}: ${cfg.fixture}`, r.name, cfg] as const));

/** Every configuration of the layer table (layerInfos), in float32 on WebGPU: outputs, gradients and buffers to float32 precision. */
describe('nn layers on webgpu match PyTorch (float32)', () => {
  it.each(rows)('%s', async (_, name, cfg) => {
    const c = cases.get(cfg.fixture)!;
    const options = { ...cfg.options, ...Object.fromEntries(Object.entries(c.tensorOptions).map(([k, v]) => [k, decodeTensor(v).to('float32')])) };
    const m = constructLayer<nn.Module>(nn, name, cfg.args, options);
    m.loadStateDict(new Map(Object.entries(c.stateDict).map(([k, v]) => [k, decodeTensor(v)])));
    m.to('webgpu').train(cfg.mode === 'train');
    expect([...m.stateDict().keys()]).toEqual(cfg.stateDictKeys);
    for (const [k, t] of m.stateDict()) {
      expect(t.device, k).toBe('webgpu');
      expectClose(await values(t), flat(c.stateDict[k]), { ...tol, what: `loaded ${k}` });
    }
    if (cfg.inputs.length === 0) return;
    const inputs = c.inputs!.map((e, i) => {
      const t = toGpu(e).detach();
      return c.inputGrads![i] ? t.requiresGrad_() : t;
    });
    const result: Tensor | [Tensor, ...unknown[]] = m.forward(...inputs);
    // A tuple (MultiheadAttention's [output, weights]) is checked on its output (LayerConfig.inputs).
    const out = Array.isArray(result) ? result[0] : result;
    expect(out.device).toBe('webgpu');
    expectClose(await values(out), flat(c.output!), { ...tol, what: 'output' });
    out.backward(toGpu(c.cotangent!));
    for (const [i, g] of c.inputGrads!.entries()) if (g) expectClose(await values(inputs[i].grad!), flat(g), { ...tol, what: `input ${i} grad` });
    const grads = new Map(m.namedParameters().map(([n, p]) => [nn.stateKey(n), p.grad]));
    expect([...grads.keys()].sort()).toEqual(Object.keys(c.paramGrads!).sort());
    for (const [k, g] of Object.entries(c.paramGrads!)) expectClose(await values(grads.get(k)!), flat(g), { ...tol, what: `grad of ${k}` });
    const sd = m.stateDict();
    for (const [k, b] of Object.entries(c.buffersAfter!)) expectClose(await values(sd.get(k)!), flat(b), { ...tol, what: `buffer ${k}` });
  });
});
