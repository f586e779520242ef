import { describe, expect, it } from 'vitest';
import { noGrad } from '@tsgrad/autograd';
import { expectClose } from '@tsgrad/test-utils';
import { functional as F } from '@tsgrad/nn';
import { buildLayer, decode, fixture, flat } from './fixtures.js';

const tol = { rtol: 1e-10, atol: 1e-12 };

// Each layer's fixture cases (output, gradients, buffers, state-dict keys) run from the layer table
// in layer-table.test.ts.

describe('losses match PyTorch in float64', () => {
  it.each(fixture.losses.map((c) => [`${c.loss} ${JSON.stringify(c.options)} ${Object.keys(c.tensorOptions)} target ${c.target.dtype}`, c] as const))('%s', (_, c) => {
    const x = decode(c.input).requiresGrad_();
    const opts: Record<string, unknown> = { ...c.options };
    for (const [k, v] of Object.entries(c.tensorOptions)) opts[k] = decode(v);
    const input = c.loss === 'NLLLoss' ? x.logSoftmax(1) : x;
    const target = decode(c.target);
    const fn = {
      MSELoss: F.mseLoss,
      L1Loss: F.l1Loss,
      CrossEntropyLoss: F.crossEntropy,
      NLLLoss: F.nllLoss,
      BCEWithLogitsLoss: F.binaryCrossEntropyWithLogits,
    }[c.loss] as (a: unknown, b: unknown, o: unknown) => ReturnType<typeof F.mseLoss>;
    const out = fn(input, target, opts);
    expect(out.shape).toEqual(c.output.shape);
    expectClose(out.detach().reshape([-1]), flat(c.output), tol);
    out.backward(decode(c.cotangent));
    expectClose(x.grad!.reshape([-1]), flat(c.inputGrad), tol);
  });
});

describe('BatchNorm running statistics', () => {
  it.each(fixture.batchnormRunning.map((c) => [`momentum ${c.momentum}`, c] as const))('match PyTorch after several batches (%s)', (_, c) => {
    const bn = buildLayer('BatchNorm1d', [3], { momentum: c.momentum }).to('float64');
    for (const b of c.batches) noGrad(() => bn.forward(decode(b)));
    const sd = bn.stateDict();
    for (const [k, v] of Object.entries(c.state)) expectClose(sd.get(k)!.to('float64').reshape([-1]), flat(v), { ...tol, what: k });
    bn.eval();
    expectClose(bn.forward(decode(c.probe)).reshape([-1]), flat(c.evalOutput), tol);
  });
});
