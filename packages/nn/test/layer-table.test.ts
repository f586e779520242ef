import { describe, expect, it } from 'vitest';
import type { Tensor } from '@tsgrad/autograd';
import * as nn from '@tsgrad/nn';
import { constructLayer, decodeTensor, expectClose, layerFixtureCases, layerInfos, type LayerConfig, type ModuleCase } from '@tsgrad/test-utils';

const tol = { rtol: 1e-10, atol: 1e-12 };
const flat = (e: { data: (number | boolean)[] }) => e.data.map(Number);
const cases = layerFixtureCases();

/** Every class @tsgrad/nn exports that extends Module (Module itself is the base, not a layer). */
const moduleClasses = Object.entries(nn)
  .filter(([, v]) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof nn.Module)
  .map(([name]) => name)
  .sort();

describe('the layer table (layerInfos)', () => {
  it('has a row for every Module subclass @tsgrad/nn exports, and no other', () => {
    expect(moduleClasses.length).toBeGreaterThan(20);
    expect(layerInfos.map((r) => r.name).sort()).toEqual(moduleClasses);
  });

  it('gives each row a configuration, or the reason it has none', () => {
    for (const r of layerInfos) expect(r.configs.length > 0 || (r.noFixture ?? '').length > 0, r.name).toBe(true);
  });

  it('names each layer fixture case in exactly one configuration, and each configuration an existing case', () => {
    const named = layerInfos.flatMap((r) => r.configs.map((c) => c.fixture));
    expect(new Set(named).size).toBe(named.length);
    expect([...named].sort()).toEqual([...cases.keys()].sort());
  });
});

/** The layer of a configuration in float64, with its fixture's tensor options (a loss's weight). */
function construct(name: string, cfg: LayerConfig, c: ModuleCase): nn.Module {
  const options = { ...cfg.options, ...Object.fromEntries(Object.entries(c.tensorOptions).map(([k, v]) => [k, decodeTensor(v)])) };
  return constructLayer<nn.Module>(nn, name, cfg.args, options).to('float64');
}

const rows = layerInfos.flatMap((r) => r.configs.map((cfg) => [`${r.name}: ${cfg.fixture}`, r.name, cfg] as const));

describe('every layer configuration matches PyTorch in float64 (1e-10)', () => {
  it.each(rows)('%s', (_, name, cfg) => {
    const c = cases.get(cfg.fixture)!;
    // The fixture was made by the same call on the same kind of inputs.
    expect([c.layer, c.args, c.options, c.mode, Object.keys(c.tensorOptions)]).toEqual([name, cfg.args, cfg.options ?? {}, cfg.mode, cfg.tensorOptions ?? []]);
    expect((c.inputs ?? []).map((e) => [e.shape, e.dtype])).toEqual(cfg.inputs.map((i) => [i.shape, i.kind === 'index' ? 'int32' : 'float64']));
    expect((c.inputGrads ?? []).map((g) => g !== null)).toEqual(cfg.inputs.map((i) => i.grad ?? (i.kind ?? 'randn') === 'randn'));

    const m = construct(name, cfg, c);
    // PyTorch's keys in PyTorch's order, from the layer as constructed and in PyTorch's state dict.
    expect([...m.stateDict().keys()]).toEqual(cfg.stateDictKeys);
    expect(Object.keys(c.stateDict)).toEqual(cfg.stateDictKeys);
    m.loadStateDict(new Map(Object.entries(c.stateDict).map(([k, v]) => [k, decodeTensor(v)])));
    for (const [k, v] of Object.entries(c.stateDict)) expectClose(m.stateDict().get(k)!.to('float64').reshape([-1]), flat(v), { ...tol, what: `loaded ${k}` });
    if (cfg.inputs.length === 0) return;

    m.train(cfg.mode === 'train');
    const inputs: Tensor[] = c.inputs!.map((e, i) => decodeTensor(e, { requiresGrad: c.inputGrads![i] !== null }));
    const result: Tensor | [Tensor, ...unknown[]] = m.forward(...inputs);
    // A tuple (MultiheadAttention's [output, weights]) is checked on its output (LayerConfig.inputs).
    const out = Array.isArray(result) ? result[0] : result;
    expect(out.shape).toEqual(c.output!.shape);
    expectClose(out.detach().reshape([-1]), flat(c.output!), { ...tol, what: 'output' });
    out.backward(decodeTensor(c.cotangent!));
    c.inputGrads!.forEach((g, i) => g && expectClose(inputs[i].grad!.reshape([-1]), flat(g), { ...tol, what: `input ${i} grad` }));
    const grads = new Map(m.namedParameters().map(([n, p]) => [nn.stateKey(n), p.grad]));
    expect([...grads.keys()].sort()).toEqual(Object.keys(c.paramGrads!).sort());
    for (const [k, g] of Object.entries(c.paramGrads!)) expectClose(grads.get(k)!.reshape([-1]), flat(g), { ...tol, what: `grad of ${k}` });
    const sd = m.stateDict();
    for (const [k, b] of Object.entries(c.buffersAfter!)) expectClose(sd.get(k)!.to('float64').reshape([-1]), flat(b), { ...tol, what: `buffer ${k}` });
  });
});
