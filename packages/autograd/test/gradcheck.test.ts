import { describe, it } from 'vitest';
import { gradcheck, opInfos, SampleMaker } from '@tsgrad/test-utils';

/**
 * Every differentiable op of the opInfos table against float64 central differences, on random shapes
 * with broadcasting, transposed (strided) views, 0-d tensors and batched matmul.
 */
const rows = opInfos
  .filter((o) => o.differentiable)
  .flatMap((info) => info.samples(new SampleMaker(info.name.length * 7919)).map((s) => [`${info.name}: ${s.note}`, info, s] as const));

describe('gradcheck over opInfos', () => {
  it.each(rows)('%s', (_, info, sample) => {
    gradcheck((...xs) => info.fn(xs, sample.args), sample.inputs);
  });
});
