import { describe, expect, it } from 'vitest';
import { binaryOp, maximum, minimum, randn, unaryOp, type Tensor } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import { BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp } from '@tsgrad/tensor';

/**
 * Every declared elementwise op (@tsgrad/tensor's UNARY_OPS and BINARY_OPS) has the public call its
 * `api` names, a Tensor method (`x.exp()`), a function of `F` (`F.silu(x)`) or of @tsgrad/autograd
 * (`maximum(x, y)`), and that call computes the declared op: same values as running it by name. A
 * declaration without its public function fails here.
 */
const functions: Record<string, (...args: Tensor[]) => Tensor> = { maximum, minimum };

function publicCall(api: string): (x: Tensor, y: Tensor) => Tensor {
  const method = /^x\.(\w+)\((y)?\)$/.exec(api);
  if (method) return (x, y) => (x as unknown as Record<string, (o?: Tensor) => Tensor>)[method[1]](method[2] ? y : undefined);
  const fn = /^(F\.)?(\w+)\(x(, y)?(, .*)?\)$/.exec(api);
  if (!fn) throw new Error(`cannot read the api '${api}'`);
  const f = (fn[1] ? (F as unknown as Record<string, unknown>)[fn[2]] : functions[fn[2]]) as ((...a: unknown[]) => Tensor) | undefined;
  if (typeof f !== 'function') throw new Error(`${api}: ${fn[1] ?? ''}${fn[2]} does not exist`);
  // GELU's tanh form is the only declared op whose api passes a fixed option.
  const extra = fn[4] === ", { approximate: 'tanh' }" ? [{ approximate: 'tanh' }] : [];
  return (x, y) => (fn[3] ? f(x, y) : f(x, ...extra));
}

describe('every declared elementwise op has its public call', () => {
  const x = randn([5, 3], { dtype: 'float64' });
  const y = randn([5, 3], { dtype: 'float64' }).abs().add(0.5);
  it.each(Object.keys(UNARY_OPS) as UnaryOp[])('%s', (op) => {
    const input = UNARY_OPS[op].domain[0] === 'positive' ? y : x;
    expect(publicCall(UNARY_OPS[op].api)(input, input).tolist()).toEqual(unaryOp(op, input).tolist());
  });
  it.each(Object.keys(BINARY_OPS) as BinaryOp[])('%s', (op) => {
    const [a, b] = op === 'pow' ? [y, x] : [x, y];
    expect(publicCall(BINARY_OPS[op].api)(a, b).tolist()).toEqual(binaryOp(op, a, b).tolist());
  });
});
