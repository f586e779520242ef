import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, zeros } from '@tsgrad/autograd';
import { CrossEntropyLoss, MSELoss, NLLLoss, functional as F, init } from '@tsgrad/nn';
import { expectClose } from '@tsgrad/test-utils';

// Every key of every option bag is exercised by tools/test/options-coverage.test.js; here, the cases
// that issue 21 reported and the value checks, with the valid forms checked against float64 references.

const logits = () => tensor([[0.5, -1, 2], [1, 0, -0.5], [0.25, 0.75, -2]], { dtype: 'float64' });
const classes = () => tensor([2, -1, 1], { dtype: 'int32' });

/** PyTorch's cross_entropy with class indices, label smoothing and ignore_index, mean reduction, naively in float64. */
function crossEntropyReference(x: number[][], y: number[], { ignoreIndex, eps }: { ignoreIndex: number; eps: number }): number {
  let total = 0;
  let count = 0;
  x.forEach((row, i) => {
    if (y[i] === ignoreIndex) return;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    total += (1 - eps) * -logp[y[i]] + (eps / row.length) * logp.reduce((s, v) => s - v, 0);
    count++;
  });
  return total / count;
}

/** erf by its Maclaurin series (float64-exact for |x| <= 3): independent of the kernel under test. */
function erfSeries(x: number): number {
  let sum = 0;
  let term = x; // (-1)^n x^(2n+1) / n!
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('functional option bags', () => {
  it("crossEntropy's PyTorch spellings are Errors naming the option, not the defaults (-100, no smoothing)", () => {
    expect(() => F.crossEntropy(logits(), classes(), { ignore_index: -1 } as object)).toThrow(/^cross_entropy: unknown option 'ignore_index'; did you mean 'ignoreIndex'\?/);
    expect(() => F.crossEntropy(logits(), classes(), { label_smoothing: 0.1 } as object)).toThrow(/^cross_entropy: unknown option 'label_smoothing'; did you mean 'labelSmoothing'\?/);
    expect(() => F.nllLoss(logits().logSoftmax(1), classes(), { ignore_index: -1 } as object)).toThrow(/^nll_loss: unknown option 'ignore_index'; did you mean 'ignoreIndex'\?/);
    expect(() => F.mseLoss(logits(), logits(), { reductio: 'sum' } as object)).toThrow(/^mse_loss: unknown option 'reductio'; did you mean 'reduction'\?/);
    expect(() => F.layerNorm(logits(), [3], { epsilon: 1e-3 } as object)).toThrow(/^layer_norm: unknown option 'epsilon'; did you mean 'eps'\?/);
  });

  it('the spelled-right options take effect: crossEntropy with ignoreIndex -1 and labelSmoothing 0.1 matches a float64 reference', () => {
    const got = F.crossEntropy(logits(), classes(), { ignoreIndex: -1, labelSmoothing: 0.1 }).item();
    const want = crossEntropyReference(logits().tolist() as number[][], [2, -1, 1], { ignoreIndex: -1, eps: 0.1 });
    expect(Math.abs(got - want)).toBeLessThan(1e-12 * Math.abs(want));
    // The module runs the same function.
    expect(new CrossEntropyLoss({ ignoreIndex: -1, labelSmoothing: 0.1 }).forward(logits(), classes()).item()).toBe(got);
  });

  it("reduction must be 'mean', 'sum' or 'none' in every loss, function and module (nll_loss used to treat any other as 'mean')", () => {
    const bad = { reduction: 'avg' } as unknown as { reduction: 'mean' };
    const y = tensor([2, 0, 1], { dtype: 'int32' });
    const message = (who: string) => new RegExp(`^${who}: "avg" is not a valid value for reduction \\(expected 'mean', 'sum' or 'none'\\)`);
    expect(() => F.nllLoss(logits().logSoftmax(1), y, bad)).toThrow(message('nll_loss'));
    expect(() => F.crossEntropy(logits(), y, bad)).toThrow(message('cross_entropy'));
    expect(() => F.mseLoss(logits(), logits(), bad)).toThrow(message('mse_loss'));
    expect(() => F.l1Loss(logits(), logits(), bad)).toThrow(message('l1_loss'));
    expect(() => F.binaryCrossEntropyWithLogits(logits(), logits().sigmoid(), bad)).toThrow(message('binary_cross_entropy_with_logits'));
    expect(() => new NLLLoss(bad)).toThrow(message('NLLLoss'));
    expect(() => new MSELoss(bad)).toThrow(message('MSELoss'));
    expect(() => F.crossEntropy(logits(), y, { ignoreIndex: 0.5 })).toThrow(/^cross_entropy: ignoreIndex must be an integer, got 0.5/);
  });

  it("gelu takes PyTorch's keyword as a bag, { approximate: 'tanh' }, as well as the bare string, both against float64 formulas", () => {
    const values = [-3, -1.5, -0.25, 0, 0.5, 1, 2.75];
    const x = tensor(values, { dtype: 'float64' });
    const tanhForm = values.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    const exact = values.map((v) => 0.5 * v * (1 + erfSeries(v / Math.SQRT2)));
    expectClose(F.gelu(x, { approximate: 'tanh' }), tanhForm, { rtol: 1e-12, atol: 1e-14 });
    expect(F.gelu(x, { approximate: 'tanh' }).tolist()).toEqual(F.gelu(x, 'tanh').tolist());
    expectClose(F.gelu(x, {}), exact, { rtol: 1e-12, atol: 1e-14 });
    expectClose(F.gelu(x, { approximate: 'none' }), exact, { rtol: 1e-12, atol: 1e-14 });
    expectClose(F.gelu(x), exact, { rtol: 1e-12, atol: 1e-14 });
    expect(() => F.gelu(x, { approximate: 'fast' } as never)).toThrow(/^gelu: approximate must be 'none' or 'tanh', got "fast"/);
    expect(() => F.gelu(x, 'fast' as never)).toThrow(/^gelu: approximate must be 'none' or 'tanh', got "fast"/);
    expect(() => F.gelu(x, { approx: 'tanh' } as never)).toThrow(/^gelu: unknown option 'approx'; did you mean 'approximate'\?/);
  });

  it("kaiming init takes PyTorch's modes ('fan_in', 'fan_out'; the old 'fanIn'/'fanOut' still run but left the type); any other is an Error, not fan_out", () => {
    const draw = (mode: string) => {
      manualSeed(7);
      return init.kaimingNormal_(zeros([3, 12], { dtype: 'float64' }), { mode: mode as 'fan_in' }).tolist() as number[][];
    };
    const [fanIn, fanOut] = [draw('fan_in'), draw('fan_out')];
    expect(draw('fanIn')).toEqual(fanIn);
    expect(draw('fanOut')).toEqual(fanOut);
    // Same draws, std gain/sqrt(fan): the ratio is sqrt(fan_out / fan_in) = sqrt(3 / 12) everywhere.
    fanIn.flat().forEach((v, i) => expect(Math.abs(v / fanOut.flat()[i] - Math.sqrt(3 / 12))).toBeLessThan(1e-12));
    expect(() => draw('fan-in')).toThrow(/^kaimingNormal_: mode must be 'fan_in' or 'fan_out', got "fan-in"/);
    // @ts-expect-error typed values are PyTorch's only (DEVELOPERS.md, Conventions): 'fanIn' is not one.
    expect(init.kaimingUniform_(zeros([2, 2]), { mode: 'fanIn' }).shape).toEqual([2, 2]);
  });

  it('a window bag of the functional pooling names a bad option: a number where a pair goes, a PyTorch spelling', () => {
    const img = zeros([1, 1, 4, 4]);
    const window = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1] } as F.WindowArgs;
    expect(() => F.maxPool2d(img, { ...window, kernel: 2 } as never)).toThrow(/^max_pool2d: kernel must be a pair of integers \[h, w\], got 2/);
    expect(() => F.avgPool2d(img, { ...window, count_include_pad: false } as never)).toThrow(/^avg_pool2d: unknown option 'count_include_pad'; did you mean 'countIncludePad'\?/);
    expect(() => F.unfold(img, { ...window, countIncludePad: false } as never)).toThrow(/^unfold: unknown option 'countIncludePad'/);
    // countIncludePad: false averages over the real cells only: 1 of the corner window's 4 with padding 1.
    const ones = tensor([[[[1, 1], [1, 1]]]]);
    const padded = { kernel: [2, 2], stride: [2, 2], padding: [1, 1], dilation: [1, 1] } as F.WindowArgs;
    expect(F.avgPool2d(ones, { ...padded, countIncludePad: false }).tolist()).toEqual([[[[1, 1], [1, 1]]]]);
    expect(F.avgPool2d(ones, padded).tolist()).toEqual([[[[0.25, 0.25], [0.25, 0.25]]]]);
  });
});
