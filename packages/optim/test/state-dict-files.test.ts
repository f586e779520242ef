import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, save, tensor, type Tensor } from '@tsgrad/autograd';
import { optimInfos } from '@tsgrad/test-utils';
import type { Optimizer, OptimizerStateDict } from '@tsgrad/optim';
import { optimizerClass } from './fixture-cases.js';

/**
 * Every optimizer's state dict, under every option set of its optimInfos row, goes through a file
 * (save/load) unchanged, and the optimizer restored from the file continues bit-identically to an
 * uninterrupted one: the reference is the run that was never saved.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgrad-optim-sd-'));

function makeRun(name: Parameters<typeof optimizerClass>[0], options: Record<string, unknown>) {
  const params = [tensor([[0.5, -1.25, 2], [0.75, -0.5, 1.5]], { dtype: 'float64' }).requiresGrad_(), tensor([0.1, -0.2], { dtype: 'float64' }).requiresGrad_()];
  const Ctor = optimizerClass(name) as unknown as new (p: Tensor[], o: Record<string, unknown>) => Optimizer<{ lr: number }>;
  const opt = Ctor === undefined ? null : new Ctor(params, options);
  // Gradients that change each step, exact in float64 (no arithmetic of their own to disagree on).
  const step = (t: number) => {
    params.forEach((p, k) => (p.grad = tensor(p.shape.length === 2 ? [[t + 1, -0.5, k], [0.25 * t, 2, -1]] : [0.5 - t, k + 1], { dtype: 'float64' })));
    opt!.step();
  };
  return { params, opt: opt!, step };
}

/** Compares two state dicts: tensors by dtype, shape and value, the rest structurally. */
function expectSameState(back: unknown, want: unknown, at: string): void {
  if (want instanceof Object && 'dataSync' in want) {
    const t = back as Tensor;
    const w = want as Tensor;
    expect([t.dtype, t.shape], at).toEqual([w.dtype, w.shape]);
    expect(Array.from(t.dataSync()), at).toEqual(Array.from(w.dataSync()));
  } else if (Array.isArray(want)) {
    expect((back as unknown[]).length, at).toBe(want.length);
    want.forEach((v, i) => expectSameState((back as unknown[])[i], v, `${at}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    expect(Object.keys(back as object), at).toEqual(Object.keys(want));
    for (const [k, v] of Object.entries(want)) expectSameState((back as Record<string, unknown>)[k], v, `${at}.${k}`);
  } else expect(back, at).toEqual(want);
}

const runs = optimInfos.filter((i) => i.dense && !i.closure).flatMap((i) => [{}, ...i.options].map((o) => [`${i.name} ${JSON.stringify(o)}`, i.name, o] as const));

describe("every optimizer's state dict through save()/load()", () => {
  it.each(runs)('%s', async (_, name, options) => {
    const a = makeRun(name, options);
    const b = makeRun(name, options);
    for (let t = 0; t < 3; t++) a.step(t);
    for (let t = 0; t < 3; t++) b.step(t);
    const file = path.join(dir, `${name}.safetensors`);
    const sd = b.opt.stateDict();
    await save(sd as unknown as Record<string, unknown>, file);
    const back = await load<OptimizerStateDict>(file);
    expectSameState(back, sd, name);
    const c = makeRun(name, options);
    c.params.forEach((p, k) => p.detach().copy_(b.params[k].detach()));
    c.opt.loadStateDict(back);
    for (let t = 3; t < 6; t++) {
      a.step(t);
      c.step(t);
    }
    c.params.forEach((p, k) => expect(Array.from(p.dataSync()), `param ${k}`).toEqual(Array.from(a.params[k].dataSync())));
  });
});
