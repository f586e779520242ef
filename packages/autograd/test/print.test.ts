import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { arange, setDefaultDtype, tensor, type DType, type Tensor } from '@tsgrad/autograd';
import { loadFixture } from '@tsgrad/test-utils';

interface PrintCase {
  name: string;
  shape: number[];
  dtype: DType;
  requiresGrad: boolean;
  repr: string;
  data?: (number | string)[];
  arange?: [number, number];
}

const { tensors } = loadFixture<{ tensors: PrintCase[] }>('print.json');

function build(c: PrintCase): Tensor {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const values = c.data ? c.data.map(Number) : Array.from({ length: n }, (_, i) => c.arange![0] + i * c.arange![1]);
  const data = c.dtype === 'bool' ? values.map(Boolean) : values;
  return tensor(data, { dtype: c.dtype, requiresGrad: c.requiresGrad }).reshape(c.shape);
}

/** tsgrad names dtypes by the strings it takes (`float64`), PyTorch by its objects (`torch.float64`). */
const tsgradSpelling = (repr: string): string => repr.replace(/dtype=torch\./g, 'dtype=');

describe("printing a tensor matches PyTorch's repr (fixtures/print.json)", () => {
  it.each(tensors.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const t = build(c).detach();
    if (c.requiresGrad) t.requiresGrad_(true);
    expect(String(t)).toBe(tsgradSpelling(c.repr));
    // console.log goes through util.inspect, which finds the same string through the global symbol.
    expect(inspect(t)).toBe(tsgradSpelling(c.repr));
  });

  it('covers integer, fixed and scientific mode, summaries, empties, and every dtype', () => {
    const reprs = tensors.map((c) => c.repr).join('\n');
    for (const s of ['1.,', '1.5000', 'e-05', '...', 'tensor([])', 'dtype=torch.int32', 'True', 'requires_grad=True', 'nan', 'inf']) expect(reprs).toContain(s);
  });
});

describe('printing: what PyTorch shows differently, by design', () => {
  it('grad_fn names the recorded op (PyTorch: <MulBackward0>)', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(String(x.mul(2))).toBe('tensor([2., 4.], grad_fn=<MulBackward>)');
  });

  it('the dtype suffix follows the default dtype, as in PyTorch', () => {
    setDefaultDtype('float64');
    try {
      expect(String(tensor([1.5, 2], { dtype: 'float64' }))).toBe('tensor([1.5000, 2.0000])');
      expect(String(tensor([1.5, 2], { dtype: 'float32' }))).toBe('tensor([1.5000, 2.0000], dtype=float32)');
    } finally {
      setDefaultDtype('float32');
    }
  });

  it("the README's examples", () => {
    expect(inspect(tensor([1, 2], { requiresGrad: true }))).toBe('tensor([1., 2.], requires_grad=True)');
    expect(inspect(arange(2000))).toBe('tensor([   0,    1,    2,  ..., 1997, 1998, 1999], dtype=int32)');
  });

  it('a summarized print reads only the shown items (a 20M-element tensor prints at once)', () => {
    const big = tensor(new Float32Array(20_000_000).fill(0.5)).reshape([4000, 5000]);
    const s = String(big);
    expect(s.split('\n')).toHaveLength(7);
    expect(s.startsWith('tensor([[0.5000, 0.5000, 0.5000,  ..., 0.5000, 0.5000, 0.5000],')).toBe(true);
  });
});
