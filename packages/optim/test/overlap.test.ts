import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '@tsgrad/autograd';
import * as optim from '@tsgrad/optim';
import { defineProgram } from '@tsgrad/tensor';
import { optimInfos } from '@tsgrad/test-utils';

type Ctor = new (params: Tensor[], opts?: Record<string, unknown>) => optim.Optimizer<{ lr: number }>;

/**
 * An optimizer step writes each parameter in place; into an expanded parameter (three rows on one
 * row of memory) it would apply one of three updates, silently. PyTorch's in-place check makes that an
 * Error; tsgrad's names the parameter (its stateDict() id) and leaves every parameter unchanged.
 */
describe('an optimizer step on an expanded parameter is an Error naming it', () => {
  const dense = optimInfos.filter((info) => info.dense);
  it.each(dense.map((info) => [info.name, info] as const))('%s', (name, info) => {
    const plain = tensor([[1, 2, 3]], { requiresGrad: true });
    const expanded = tensor([[4, 5]]).expand(3, 2).requiresGrad_();
    for (const p of [plain, expanded]) p.grad = noGrad(() => p.detach().mul(0).add(0.5).contiguous());
    const Opt = (optim as unknown as Record<string, Ctor>)[name];
    const opt = new Opt([plain, expanded], { ...info.defaults, lr: 0.1 });
    const step = () => (info.closure ? opt.step(() => plain.sum().add(expanded.sum())) : opt.step());
    expect(step).toThrow(
      new RegExp(`${name}\\.step: parameter 1 \\(shape \\[3, 2\\]\\): unsupported operation: more than one element of the written-to tensor refers to a single memory location .*Please clone\\(\\) the tensor`),
    );
    expect(expanded.tolist()).toEqual([[4, 5], [4, 5], [4, 5]]);
    expect(plain.tolist()).toEqual([[1, 2, 3]]);
  });

  it('a size-1 dimension of stride 0 is no overlap (PyTorch steps it)', () => {
    const p = tensor([[4, 5]]).expand(1, 2).requiresGrad_();
    p.grad = tensor([[1, 2]]);
    new optim.SGD([p], { lr: 0.5 }).step();
    expect(p.tolist()).toEqual([[4 - 0.5, 5 - 1]]);
  });

  it('runProgramParts refuses an expanded stream it writes, and reads one freely', () => {
    const axpy = defineProgram({ name: 'axpy', read: ['g'], write: ['p'], scalars: ['a'], body: 'p = p + a * g' });
    const p = tensor([1, 2, 3]);
    optim.runProgramParts([{ program: axpy, streams: { p, g: tensor([1]).expand(3) }, scalars: { a: 2 } }]);
    expect(p.tolist()).toEqual([3, 4, 5]);
    const q = tensor([1]).expand(3);
    expect(() => optim.runProgramParts([{ program: axpy, streams: { p: q, g: tensor([1, 2, 3]) }, scalars: { a: 2 } }])).toThrow(
      /axpy: 'p': unsupported operation: more than one element of the written-to tensor refers to a single memory location \(shape \[3\], strides \[0\]/,
    );
  });
});
