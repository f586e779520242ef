import { afterEach, describe, expect, it } from 'vitest';
import { arange, full, getDefaultDtype, manualSeed, ones, rand, randint, randn, randperm, setDefaultDtype, tensor, zeros } from '@tsgrad/autograd';

describe('creation', () => {
  afterEach(() => setDefaultDtype('float32'));

  it('infers shape and dtype from nested arrays and typed arrays', () => {
    expect(tensor([[1, 2, 3], [4, 5, 6]]).shape).toEqual([2, 3]);
    expect(tensor(3).shape).toEqual([]);
    expect(tensor([[1, 2]]).dtype).toBe('float32');
    expect(tensor([true]).dtype).toBe('bool');
    expect(tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor([1.5, -2.7], { dtype: 'int32' }).tolist()).toEqual([1, -2]);
    expect(tensor([]).shape).toEqual([0]);
  });

  it('mixes of booleans and numbers are numeric; bytes other than 0 and 1 need a dtype', () => {
    // torch.tensor([True, 2]) -> [1, 2] (int64); torch.tensor([[True], [2.5]]) -> [[1.], [2.5]]
    expect(tensor([true, 2]).tolist()).toEqual([1, 2]);
    expect(tensor([[true], [2.5]]).tolist()).toEqual([[1], [2.5]]);
    expect(tensor([[true], [false]]).dtype).toBe('bool');
    // torch.from_numpy(np.array([255, 2, 0], dtype=np.uint8)) keeps the bytes; tsgrad has no uint8.
    expect(() => tensor(new Uint8Array([0, 255, 2]))).toThrow(/tensor: a Uint8Array makes a bool tensor, but it holds 255 at index 1; .*dtype: 'int32'/);
    expect(tensor(new Uint8Array([255, 2, 0]), { dtype: 'int32' }).tolist()).toEqual([255, 2, 0]);
    expect(tensor(new Uint8Array([1, 0])).tolist()).toEqual([true, false]);
  });

  it('zeros, ones, full, arange', () => {
    expect(zeros([2, 2]).tolist()).toEqual([[0, 0], [0, 0]]);
    expect(ones([2], { dtype: 'int32' }).tolist()).toEqual([1, 1]);
    expect(full([3], 0.25, { dtype: 'float64' }).tolist()).toEqual([0.25, 0.25, 0.25]);
    expect(arange(4).tolist()).toEqual([0, 1, 2, 3]);
    expect(arange(4).dtype).toBe('int32');
    expect(arange(1, 2, 0.25).tolist()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(5, 0, -2).tolist()).toEqual([5, 3, 1]);
  });

  it('setDefaultDtype changes new floating tensors only', () => {
    setDefaultDtype('float64');
    expect(getDefaultDtype()).toBe('float64');
    expect(zeros([1]).dtype).toBe('float64');
    expect(arange(3).dtype).toBe('int32');
    expect(() => setDefaultDtype('int32')).toThrow(/only floating dtypes are allowed, got 'int32'/);
  });

  it('manualSeed makes rand/randn/randint/randperm reproducible', () => {
    manualSeed(42);
    const a = [rand([5]).tolist(), randn([5]).tolist(), randint(0, 10, [5]).tolist(), randperm(6).tolist()];
    manualSeed(42);
    const b = [rand([5]).tolist(), randn([5]).tolist(), randint(0, 10, [5]).tolist(), randperm(6).tolist()];
    expect(b).toEqual(a);
    expect([...(a[3] as number[])].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rand is uniform on [0, 1) and randn standard normal (moments on 100k samples)', () => {
    manualSeed(7);
    const u = rand([100_000], { dtype: 'float64' });
    expect(u.min().item()).toBeGreaterThanOrEqual(0);
    expect(u.max().item()).toBeLessThan(1);
    expect(Math.abs(u.mean().item() - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(u.var().item() - 1 / 12)).toBeLessThan(0.002);
    const n = randn([100_000], { dtype: 'float64' });
    expect(Math.abs(n.mean().item())).toBeLessThan(0.01);
    expect(Math.abs(n.std().item() - 1)).toBeLessThan(0.01);
  });
});
