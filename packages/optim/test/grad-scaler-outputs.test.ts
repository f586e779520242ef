import { describe, expect, it } from 'vitest';
import { Tensor, tensor } from '@tsgrad/autograd';
import { GradScaler, type ScaleOutputs } from '@tsgrad/optim';

/**
 * `GradScaler.scale(outputs)` takes what PyTorch 2.x's takes (torch/amp/grad_scaler.py: a tensor, or
 * iterables of tensors nested to any depth, each scaled by the one float32 scale). The reference is a
 * naive walk over plain numbers: each leaf times the scale rounded to float32, computed in float64
 * (the tensors are float64, so the product is exact to one float64 rounding, as the reference's).
 */
type Numbers = number[] | Numbers[];

function naiveScaled(values: Numbers, scale: number): Numbers {
  return values.map((v) => (Array.isArray(v) ? naiveScaled(v, scale) : v * Math.fround(scale))) as Numbers;
}

/** The numbers of a scaled structure, in the same nesting; a leaf must be a tensor. */
function numbersOf(out: ScaleOutputs): Numbers | number[] {
  if (out instanceof Tensor) return Array.from(out.dataSync());
  return Array.from(out, numbersOf) as Numbers;
}

describe('GradScaler.scale of nested outputs (PyTorch 2.x)', () => {
  const leaves = [[1.5, -2], [3], [1e-3, 7, 0.25]];
  const t = (v: number[]) => tensor(v, { dtype: 'float64' });

  it('scales every tensor of nested arrays, keeping the structure, against a naive reference', () => {
    const scaler = new GradScaler({ initScale: 0.1 });
    const outputs = [t(leaves[0]), [t(leaves[1]), [t(leaves[2])]]] as const;
    const scaled = scaler.scale(outputs);
    expect(Array.isArray(scaled) && Array.isArray(scaled[1]) && Array.isArray(scaled[1][1])).toBe(true);
    expect(scaled).toHaveLength(2);
    expect(scaled[1]).toHaveLength(2);
    expect(scaled[1][1]).toHaveLength(1);
    // Wrapped in one-element arrays to compare each tensor's numbers whole.
    expect(numbersOf(scaled)).toEqual(naiveScaled([leaves[0], [leaves[1], [leaves[2]]]] as Numbers, 0.1));
    expect(scaler.getScale()).toBe(Math.fround(0.1));
  });

  it('a single tensor and a flat list give the same products; other iterables come back as arrays', () => {
    const scaler = new GradScaler({ initScale: 3 });
    const single = scaler.scale(t(leaves[2]));
    expect(Array.from(single.dataSync())).toEqual(leaves[2].map((v) => v * 3));
    const fromSet = scaler.scale(new Set([t(leaves[0]), t(leaves[1])]));
    expect(Array.isArray(fromSet)).toBe(true);
    expect(numbersOf(fromSet)).toEqual(naiveScaled([leaves[0], leaves[1]], 3));
    function* gen() {
      yield t(leaves[1]);
      yield [t(leaves[0])];
    }
    expect(numbersOf(scaler.scale(gen()))).toEqual(naiveScaled([leaves[1], [leaves[0]]] as Numbers, 3));
  });

  it('the scaled losses backpropagate each times the scale', () => {
    const w = tensor([2, -1], { dtype: 'float64', requiresGrad: true });
    const scaler = new GradScaler({ initScale: 8 });
    const [a, b] = scaler.scale([w.mul(w).sum(), w.sum()]);
    a.add(b).backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([2 * 2 * 8 + 8, 2 * -1 * 8 + 8]);
  });

  it('an empty list is returned empty and creates no scale (as PyTorch: the scale is made by the first tensor)', () => {
    const scaler = new GradScaler();
    expect(scaler.scale([])).toEqual([]);
    expect(() => scaler.update()).toThrow(/GradScaler\.update: attempted update but the scale does not exist yet/);
  });

  it('disabled, returns outputs itself whatever they are', () => {
    const scaler = new GradScaler({ enabled: false });
    const outputs = [t([1]), [t([2])]];
    expect(scaler.scale(outputs)).toBe(outputs);
  });

  it('misuse: a non-tensor leaf is an Error naming where it is', () => {
    const scaler = new GradScaler();
    const bad = (outputs: unknown) => () => scaler.scale(outputs as ScaleOutputs);
    expect(bad(2.5)).toThrow("GradScaler.scale: outputs is a number (2.5); outputs must be a Tensor or an iterable of Tensors");
    expect(bad([t([1]), [t([2]), 3]])).toThrow("GradScaler.scale: outputs[1][1] is a number (3); outputs must be a Tensor or an iterable of Tensors");
    expect(bad([null])).toThrow('GradScaler.scale: outputs[0] is null;');
    expect(bad(['loss'])).toThrow("GradScaler.scale: outputs[0] is a string ('loss');");
    expect(bad([{ loss: t([1]) }])).toThrow('GradScaler.scale: outputs[0] is an object (Object);');
  });
});
