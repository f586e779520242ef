import { describe, expect, it } from 'vitest';
import { ones, tensor, zeros, type Tensor } from '@tsgrad/autograd';
import { copyModule, Embedding, GroupNorm, LayerNorm, Linear, Module, ModuleDict, Parameter, ParameterDict, ParameterList, ReLU, RMSNorm } from '@tsgrad/nn';
import { decodeTensor, expectClose, loadFixture, type EncodedTensor } from '@tsgrad/test-utils';

// Keys, order and loading of each container against PyTorch are in the layer table
// (layer-table.test.ts); here, a PyTorch checkpoint of a module holding all three, and the API.

/** gen_nn_fixtures.py's ContainerHolder, mirrored. */
class ContainerHolder extends Module {
  embed = new Embedding(6, 4);
  blocks = new ModuleDict([['attn', new Linear(4, 4)], ['ln_f', new RMSNorm(4)], ['0', new GroupNorm(2, 4)]]);
  scales = new ParameterList([zeros([4]), zeros([2, 2])]);
  extra = new ParameterDict([['alpha', zeros([4])], ['1', zeros([3])], ['beta', zeros([1])]]);
  head = new Linear(4, 2, { bias: false });
}

const { containerCheckpoint } = loadFixture<{ containerCheckpoint: { keys: string[]; stateDict: Record<string, EncodedTensor> } }>('nn-modules.json');

describe('a PyTorch checkpoint of a module holding ModuleDict, ParameterList and ParameterDict', () => {
  it("has PyTorch's keys in PyTorch's order (insertion order, integer-like keys included) and loads strictly", () => {
    const m = new ContainerHolder().to('float64');
    expect([...m.stateDict().keys()]).toEqual(containerCheckpoint.keys);
    m.loadStateDict(new Map(Object.entries(containerCheckpoint.stateDict).map(([k, v]) => [k, decodeTensor(v)])));
    for (const [k, v] of Object.entries(containerCheckpoint.stateDict)) {
      expectClose(m.stateDict().get(k)!.reshape([-1]), v.data.map(Number), { rtol: 0, atol: 0, what: k });
    }
    // The loaded values are what the model computes with.
    expect(m.blocks.get('ln_f')).toBeInstanceOf(RMSNorm);
    expectClose((m.blocks.get('ln_f') as RMSNorm).weight!, containerCheckpoint.stateDict['blocks.ln_f.weight'].data.map(Number), { rtol: 0, atol: 0 });
    expect(m.namedParameters().map(([n]) => n)).toEqual(containerCheckpoint.keys);
  });
});

describe('ModuleDict', () => {
  it('keeps insertion order (a replaced key keeps its place, a re-added one goes last) and its keys verbatim', () => {
    const d = new ModuleDict(new Map<string, Module>([['b', new Linear(2, 2)], ['2', new ReLU()], ['fooBar', new LayerNorm(2)]]));
    expect(d.keys()).toEqual(['b', '2', 'fooBar']);
    expect([...d]).toEqual(['b', '2', 'fooBar']); // iteration gives the keys, as in PyTorch
    expect([...d.stateDict().keys()]).toEqual(['b.weight', 'b.bias', 'fooBar.weight', 'fooBar.bias']);
    const relu = new ReLU();
    d.set('b', relu);
    expect(d.entries()).toEqual([['b', relu], ['2', d.get('2')], ['fooBar', d.get('fooBar')]]);
    const popped = d.pop('2');
    expect(popped).toBeInstanceOf(ReLU);
    d.set('2', popped);
    expect(d.keys()).toEqual(['b', 'fooBar', '2']);
    expect([d.size, d.has('fooBar'), d.has('x')]).toEqual([3, true, false]);
    expect(String(d)).toBe('ModuleDict(\n  (b): ReLU()\n  (fooBar): LayerNorm((2,), eps=1e-05, elementwise_affine=True)\n  (2): ReLU()\n)');
    d.clear();
    expect([d.size, d.parameters().length, [...d.stateDict().keys()]]).toEqual([0, 0, []]);
  });

  it('update takes pairs, a Map, an object or another ModuleDict, in their order; values() and parameters() follow it', () => {
    const d = new ModuleDict({ a: new Linear(1, 1) });
    d.update([['c', new Linear(1, 2)]]);
    d.update({ b: new Linear(1, 3) });
    d.update(new ModuleDict([['e', new Linear(1, 4)], ['d', new Linear(1, 5)]]));
    expect(d.keys()).toEqual(['a', 'c', 'b', 'e', 'd']);
    expect(d.values().map((m) => (m as Linear).outFeatures)).toEqual([1, 2, 3, 4, 5]);
    expect(d.namedParameters().map(([n]) => n).filter((n) => n.endsWith('weight'))).toEqual(['a.weight', 'c.weight', 'b.weight', 'e.weight', 'd.weight']);
  });

  it('moves, copies and trains like any module', () => {
    const d = new ModuleDict({ proj: new Linear(3, 2) }).to('float64');
    expect(d.parameters().map((p) => p.dtype)).toEqual(['float64', 'float64']);
    const copy = copyModule(d);
    expect(copy.keys()).toEqual(['proj']);
    expect(copy.get('proj')).not.toBe(d.get('proj'));
    expectClose(copy.get('proj').stateDict().get('weight')!, d.get('proj').stateDict().get('weight')!.tolist() as number[][], { rtol: 0, atol: 0 });
    const y = (d.get('proj') as Linear).forward(ones([1, 3], { dtype: 'float64' })).sum();
    y.backward();
    expect(d.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  it("invalid keys and values are PyTorch's errors, as Errors naming the key", () => {
    const d = new ModuleDict({ a: new ReLU() });
    expect(() => d.set('a.b', new ReLU())).toThrow(/^ModuleDict: module name can't contain "\.", got: a\.b/);
    expect(() => d.set('', new ReLU())).toThrow(/^ModuleDict: module name can't be empty string ""/);
    expect(() => d.set(3 as unknown as string, new ReLU())).toThrow(/^ModuleDict: module name should be a string\. Got number 3/);
    expect(() => d.set('keys', new ReLU())).toThrow(/^ModuleDict: attribute 'keys' already exists \(a key cannot name a method or field of ModuleDict; PyTorch's KeyError\)/);
    expect(() => d.set('training', new ReLU())).toThrow(/^ModuleDict: attribute 'training' already exists/);
    expect(() => d.set('b', ones([2]) as unknown as Module)).toThrow(/^ModuleDict: the value for key 'b' must be a Module, got 'Tensor'/);
    expect(() => d.get('aa')).toThrow(/^ModuleDict: unknown key 'aa'; did you mean 'a'\?/);
    expect(() => d.pop('zzz')).toThrow(/^ModuleDict: unknown key 'zzz'/);
    expect(() => new ModuleDict([['a', new ReLU(), 1]] as unknown as [string, Module][])).toThrow(/^ModuleDict\.update: sequence element #0 has length 3; 2 is required/);
    expect(() => new ModuleDict(new ReLU() as unknown as [string, Module][])).toThrow(/^ModuleDict\.update: expected a Map, an object or an iterable of \[key, value\] pairs, got 'ReLU'/);
    expect(() => d.forward()).toThrow(/missing the required "forward" function/);
    // A failed set leaves the dict as it was.
    expect(d.keys()).toEqual(['a']);
  });
});

describe('ParameterList', () => {
  it("wraps tensors in Parameters sharing their memory, keyed '0', '1', ...", () => {
    const t = zeros([3]);
    const list = new ParameterList([t, new Parameter(ones([2, 2]))]);
    list.append(ones([1]));
    expect([list.length, [...list.stateDict().keys()]]).toEqual([3, ['0', '1', '2']]);
    expect(list.at(0)).toBeInstanceOf(Parameter);
    expect(list.at(0).requiresGrad).toBe(true);
    t.add_(1);
    expect(list.at(0).tolist()).toEqual([1, 1, 1]);
    expect([...list].map((p) => p.shape)).toEqual([[3], [2, 2], [1]]);
    expect(list.at(-1).shape).toEqual([1]);
    list.set(-1, tensor([5, 6]));
    expect(list.parameters().map((p) => p.tolist())).toEqual([[1, 1, 1], [[1, 1], [1, 1]], [5, 6]]);
    list.extend([zeros([2])]);
    expect(list.namedParameters().map(([n]) => n)).toEqual(['0', '1', '2', '3']);
  });

  it('misuse is an Error naming the culprit', () => {
    const list = new ParameterList([zeros([2])]);
    expect(() => list.at(1)).toThrow(/^ParameterList: index 1 is out of range for 1 parameters/);
    expect(() => list.set(-2, zeros([1]))).toThrow(/^ParameterList: index -2 is out of range for 1 parameters/);
    expect(() => list.append([1, 2] as unknown as Tensor)).toThrow(/^ParameterList\.append: element 1 must be a Tensor or a Parameter, got 'Array'/);
    expect(() => list.extend(5 as unknown as Tensor[])).toThrow(/^ParameterList\.extend should be called with an iterable of tensors, but got number 5/);
    expect(list.length).toBe(1);
  });
});

describe('ParameterDict', () => {
  it('wraps tensors, keeps insertion order and verbatim keys, and supports the dict API', () => {
    const d = new ParameterDict([['gain', ones([2])], ['7', zeros([1])], ['lnBias', zeros([2])]]);
    expect([...d.stateDict().keys()]).toEqual(['gain', '7', 'lnBias']);
    expect(d.namedParameters().map(([n]) => n)).toEqual(['gain', '7', 'lnBias']);
    expect(d.get('gain')).toBeInstanceOf(Parameter);
    d.update({ gain: tensor([3, 4]) });
    expect(d.keys()).toEqual(['gain', '7', 'lnBias']);
    expect(d.get('gain').tolist()).toEqual([3, 4]);
    expect(d.pop('7').tolist()).toEqual([0]);
    expect([d.size, d.has('7'), d.values().length, d.entries().map(([k]) => k)]).toEqual([2, false, 2, ['gain', 'lnBias']]);
  });

  it("invalid keys and values are PyTorch's errors, as Errors naming the key", () => {
    const d = new ParameterDict({ gain: ones([2]) });
    expect(() => d.set('a.b', ones([1]))).toThrow(/^ParameterDict: parameter name can't contain "\.", got: a\.b/);
    expect(() => d.set('', ones([1]))).toThrow(/^ParameterDict: parameter name can't be empty string ""/);
    expect(() => d.set('get', ones([1]))).toThrow(/^ParameterDict: attribute 'get' already exists/);
    expect(() => d.set('x', 3 as unknown as Tensor)).toThrow(/^ParameterDict: the value for key 'x' must be a Tensor or a Parameter, got number 3/);
    expect(() => d.get('gian')).toThrow(/^ParameterDict: unknown key 'gian'; did you mean 'gain'\?/);
    expect(d.keys()).toEqual(['gain']);
  });
});
