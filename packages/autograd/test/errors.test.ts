import { describe, expect, it } from 'vitest';
import { arange, cat, noGrad, ones, randn, tensor, where, zeros, type Tensor } from '@tsgrad/autograd';

/** Bad input gets an Error naming the op and the culprit, never a silent wrong answer. */
describe('error messages', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['add of unbroadcastable shapes', () => ones([2, 3]).add(ones([4])), /add: shapes \[2, 3\] and \[4\] are not broadcastable/],
    // Option bags of methods: PyTorch's positional clamp(min, max) used to clamp nothing.
    ['clamp with positional bounds', () => tensor([-2, 3]).clamp(0 as never), /clamp: expected an options object \{ min, max \}, got 0/],
    ['clamp with a tensor bound', () => tensor([-2, 3]).clamp(tensor([0]) as never), /clamp: expected an options object \{ min, max \}, got a Tensor \(write clamp\(\{ min: lo, max: hi \}\)\)/],
    ["add with PyTorch's positional alpha", () => ones([2]).add(ones([2]), 2 as never), /add: expected an options object \{ alpha \}, got 2/],
    ['clamp_ with a misspelled bound', () => tensor([-2, 3]).clamp_({ mx: 1 } as never), /clamp_: unknown option 'mx'; did you mean 'max'\?/],
    ['add with a misspelled alpha', () => ones([2]).add(1, { alpah: 2 } as never), /add: unknown option 'alpah'; did you mean 'alpha'\?/],
    ['var with keepDim', () => ones([2, 2]).var(0, { keepDim: true } as never), /var: unknown option 'keepDim'; did you mean 'keepdim'\?/],
    // Every reduction takes keepdim in a bag, as var and std do.
    ['sum with keepDim', () => ones([2, 2]).sum(0, { keepDim: true } as never), /sum: unknown option 'keepDim'; did you mean 'keepdim'\?/],
    ['logsumexp with keep_dim', () => ones([2, 2]).logsumexp(0, { keep_dim: true } as never), /logsumexp: unknown option 'keep_dim'; did you mean 'keepdim'\?/],
    ['argmax with a second dim', () => ones([2, 2]).argmax(0, 1 as never), /argmax: expected an options object \{ keepdim \}, got 1/],
    ['matmul inner sizes', () => ones([3, 4]).matmul(ones([5, 6])), /matmul: shapes \[3, 4\] and \[5, 6\] cannot be multiplied \(3x4 and 5x6\)/],
    ['matmul dtypes', () => ones([2, 2]).matmul(ones([2, 2], { dtype: 'float64' })), /matmul: .*float32 and float64/],
    ['matmul 0-d', () => ones([]).matmul(ones([2])), /matmul: both arguments need at least 1 dimension/],
    ['reshape size', () => ones([2, 3]).reshape([4, 2]), /reshape: shape \[4, 2\] is invalid for input \[2, 3\] of size 6/],
    ['two -1', () => ones([2, 3]).reshape([-1, -1]), /only one dimension can be inferred/],
    ['view of transposed', () => ones([2, 3]).t().view([6]), /view: size \[6\] is not compatible .* Use \.reshape/],
    ['dim out of range', () => ones([2, 3]).sum(2), /sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/],
    ['permute not a permutation', () => ones([2, 3]).permute([0, 0]), /permute: dims \[0, 0\] is not a permutation/],
    ['expand non-singleton', () => ones([2, 3]).expand([4, 3]), /expand: the expanded size \(4\) must match the existing size \(2\)/],
    ['narrow past the end', () => ones([3]).narrow(0, 2, 2), /narrow: start \(2\) \+ length \(2\) exceeds dimension size \(3\)/],
    ['select out of range', () => ones([3, 4]).select(0, 3), /select: index 3 out of range for tensor of shape \[3, 4\] at dimension 0/],
    ['cat shapes', () => cat([ones([2, 3]), ones([2, 4])], 0), /cat: sizes of tensors must match except in dimension 0; tensor 0 has shape \[2, 3\] but tensor 1 has shape \[2, 4\]/],
    ['gather float index', () => ones([3]).gather(0, ones([2])), /gather: expected index of dtype int32, got float32/],
    ['gather out of bounds', () => ones([3]).gather(0, tensor([5], { dtype: 'int32' })), /gather: index 5 is out of bounds for dimension 0 with size 3/],
    ['where non-bool', () => where(ones([2]), 1, 0), /where: expected condition to be a bool tensor, but got a tensor with dtype float32/],
    ['ragged nested array', () => tensor([[1, 2], [3]]), /ragged nested array: expected a sequence of length 2 at \[1\]/],
    ['non-number element', () => tensor([1, 'a' as unknown as number]), /expected a number at \[1\]/],
    ['negative size', () => zeros([2, -1]), /zeros: sizes must be non-negative integers/],
    ['item on many', () => ones([2]).item(), /item\(\): a Tensor with 2 elements cannot be converted to a Scalar/],
    ['requiresGrad on int', () => arange(3).requiresGrad_(), /only Tensors of floating point dtype can require gradients, got int32/],
    ['mean of int', () => arange(3).mean(), /mean\(\): could not infer output dtype.*got int32/],
    ['unknown device', () => ones([2]).to('tpu'), /Unknown device 'tpu'; registered devices: cpu/],
    ['unknown dtype', () => zeros([2], { dtype: 'int64' as 'float32' }), /dtype: expected one of float32, float64, float16, bfloat16, int32, bool, got "int64"/],
    ['neg of bool', () => tensor([true]).neg(), /neg: negation on a bool tensor is not supported/],
    ['abs of bool', () => tensor([true]).abs(), /abs: not implemented for a bool tensor/],
    ['relu of bool', () => tensor([true]).relu(), /relu: bool inputs are not supported/],
    ['softmax of int32', () => tensor([1, 3], { dtype: 'int32' }).softmax(0), /softmax\(\): could not infer output dtype.*got int32/],
    ['logSoftmax of bool', () => tensor([true, false]).logSoftmax(0), /logSoftmax\(\): could not infer output dtype.*got bool/],
    ['argmax of bool', () => tensor([true, false]).argmax(), /argmax\(\): not implemented for a bool tensor/],
    // PyTorch's set_grad checks, in its order: itself, then type, device, size.
    ['grad of wrong shape', () => (ones([2], { requiresGrad: true }).grad = ones([3])), /grad: assigned grad has data of a different size: shape \[3\], but the tensor has shape \[2\]/],
    ['grad of wrong dtype', () => (ones([2], { requiresGrad: true }).grad = ones([2], { dtype: 'float64' })), /assigned grad has data of a different type: dtype float64, but the tensor has dtype float32/],
    ['grad of an integer dtype', () => (ones([2], { requiresGrad: true }).grad = ones([2], { dtype: 'int32' })), /assigned grad has data of a different type: dtype int32/],
    ['grad that is the tensor itself', () => { const a = ones([2], { requiresGrad: true }); a.grad = a; }, /grad: can't assign Variable as its own grad/],
    ['grad that is not a tensor', () => (ones([2], { requiresGrad: true }).grad = [1, 1] as never), /grad: expected a Tensor or null, got object/],
  ];
  it.each(cases)('%s', (_, f, pattern) => {
    expect(f).toThrow(pattern);
  });
});

describe('backward errors (PyTorch messages)', () => {
  it('backward on a tensor that does not require grad', () => {
    expect(() => ones([1]).sum().backward()).toThrow(/element 0 of tensors does not require grad and does not have a grad_fn/);
  });
  it('backward on a non-scalar without gradient', () => {
    const x = randn([3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/grad can be implicitly created only for scalar outputs; got shape \[3\]/);
  });
  it('a gradient of the wrong shape', () => {
    const x = randn([3], { requiresGrad: true });
    expect(() => x.mul(2).backward(ones([2]))).toThrow(/backward: gradient has shape \[2\] but the tensor has shape \[3\]/);
  });
  it('a second backward through a freed graph, and retainGraph', () => {
    const x = randn([3], { dtype: 'float64', requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!.tolist()).toEqual(x.exp().mul(2).tolist());
    expect(() => y.backward()).toThrow(/Trying to backward through the graph a second time .* retainGraph: true/);
  });
  it('an input modified in place after use, when the gradient reads it', () => {
    const w = randn([3], { requiresGrad: true });
    const h = w.mul(2);
    const y = h.erf().sum();
    noGrad(() => h.detach().add_(1));
    expect(() => y.backward()).toThrow(/modified by an inplace operation: input 0 of erf .* is at version 1; expected version 0/);
  });
  it("an input modified in place after use, when the gradient does not read it: no error, the right gradient (PyTorch's saved variables)", () => {
    const w = tensor([0, 0.5], { dtype: 'float64', requiresGrad: true });
    const h = w.mul(2);
    const y = h.exp().sum(); // exp's gradient reads its output, not h
    noGrad(() => h.detach().add_(1));
    y.backward();
    expect(w.grad!.tolist()).toEqual([2, 2 * Math.E]);
  });
  it('in-place on a leaf that requires grad outside noGrad', () => {
    const w = randn([3], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(/add_: a leaf Variable that requires grad is being used in an in-place operation/);
    noGrad(() => w.add_(1));
  });
  it('changing requiresGrad of a non-leaf', () => {
    const y = randn([3], { requiresGrad: true }).mul(2);
    expect(() => y.requiresGrad_(false)).toThrow(/only change requiresGrad flags of leaf variables/);
  });
});

describe('in-place writes into an expanded view are an Error (PyTorch: internal overlap)', () => {
  const OVERLAP = /unsupported operation: more than one element of the written-to tensor refers to a single memory location \(shape \[3, 2\], strides \[0, 1\]: an expanded view\)\. Please clone\(\) the tensor before performing the operation/;
  const writes: [string, (t: Tensor) => unknown][] = [
    ['copy_', (t) => t.copy_(tensor([[1, 2], [3, 4], [5, 6]]))],
    ['fill_', (t) => t.fill_(7)],
    ['zero_', (t) => t.zero_()],
    ['add_', (t) => t.add_(1)],
    ['sub_', (t) => t.sub_(tensor([1, 2]), { alpha: 2 })],
    ['mul_', (t) => t.mul_(2)],
    ['div_', (t) => t.div_(2)],
    ['clamp_', (t) => t.clamp_({ min: 0, max: 1 })],
  ];
  it.each(writes)('%s names itself and writes nothing', (name, write) => {
    const base = tensor([[4, 5]]);
    expect(() => write(base.expand(3, 2))).toThrow(new RegExp(`^${name}: ${OVERLAP.source}`));
    expect(base.tolist()).toEqual([[4, 5]]);
  });

  it('a size-1 or empty expanded dimension is no overlap, and a clone() is writable (as in PyTorch)', () => {
    const base = tensor([[4, 5]]);
    base.expand(1, 2).add_(1);
    expect(base.tolist()).toEqual([[5, 6]]);
    expect(tensor([[4, 5]]).expand(0, 2).fill_(1).shape).toEqual([0, 2]);
    const rows = tensor([[4, 5]]).expand(3, 2).clone().copy_(tensor([[1, 2], [3, 4], [5, 6]]));
    expect(rows.tolist()).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it('a view of an expanded view still overlaps; a transposed or sliced view does not', () => {
    expect(() => tensor([[4, 5]]).expand(3, 2).t().mul_(2)).toThrow(/^mul_: unsupported operation/);
    expect(() => tensor([4]).expand(3).unsqueeze(0).fill_(0)).toThrow(/^fill_: unsupported operation: .*\(shape \[1, 3\], strides \[0, 0\]/);
    const x = tensor([[1, 2], [3, 4]]);
    x.t().slice(0, 0, 1).mul_(10);
    expect(x.tolist()).toEqual([[10, 2], [30, 4]]);
  });
});

/**
 * PyTorch's positional keepdim (`x.sum(1, True)`), the form reductions took before the bag, still
 * runs (out of the type): the same result as `{ keepdim }`, which the op fixtures check against PyTorch.
 */
describe('reductions: positional keepdim at run time', () => {
  const x = tensor([[0.5, -1, 2], [1, 0, -0.5]]);
  const ops = ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'logsumexp'] as const;
  it.each(ops)('%s(1, true) is %s(1, { keepdim: true })', (op) => {
    const call = x[op] as (dim: number, opts?: unknown) => Tensor;
    for (const keepdim of [true, false]) {
      const legacy = call.call(x, 1, keepdim);
      const bag = call.call(x, 1, { keepdim });
      expect(legacy.shape).toEqual(keepdim ? [2, 1] : [2]);
      expect(legacy.tolist()).toEqual(bag.tolist());
    }
  });
});
