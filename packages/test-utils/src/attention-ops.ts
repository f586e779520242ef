import { argsort, chunk, cumsum, maskedFill, sort, split, topk, tril, triu, type DType, type Tensor } from '@tsgrad/autograd';
import { expectClose } from './expect-close.js';
import { decodeTensor, loadFixture, type EncodedTensor } from './fixtures.js';

/** One case of fixtures/attention-ops.json (scripts/gen_attention_ops_fixtures.py). */
export interface AttentionOpCase {
  op: string;
  note: string;
  inputs: EncodedTensor[];
  args: Record<string, unknown>;
  outputs: EncodedTensor[];
  cotangents: (number[] | null)[];
  grads: (number[] | null)[];
  /** topk over tied values: PyTorch's pick among equals is unspecified, so indices are checked through the values. */
  anyTieOrder?: boolean;
}

const num = (a: Record<string, unknown>, k: string) => Number(a[k]);

/** Each op of the fixture as tsgrad's free function, returning every output PyTorch returns. */
export const ATTENTION_OPS: Record<string, (inputs: Tensor[], args: Record<string, unknown>) => Tensor[]> = {
  split: ([x], a) => split(x, a.splitSize as number | number[], num(a, 'dim')),
  chunk: ([x], a) => chunk(x, num(a, 'chunks'), num(a, 'dim')),
  tril: ([x], a) => [tril(x, num(a, 'diagonal'))],
  triu: ([x], a) => [triu(x, num(a, 'diagonal'))],
  masked_fill: ([x, mask, value], a) => [maskedFill(x, mask, value ?? num(a, 'value'))],
  cumsum: ([x], a) => [cumsum(x, num(a, 'dim'), a.dtype ? { dtype: a.dtype as DType } : {})],
  sort: ([x], a) => {
    const { values, indices } = sort(x, num(a, 'dim'), { descending: Boolean(a.descending), stable: true });
    return [values, indices];
  },
  argsort: ([x], a) => [argsort(x, num(a, 'dim'), { descending: Boolean(a.descending), stable: true })],
  topk: ([x], a) => {
    const { values, indices } = topk(x, num(a, 'k'), num(a, 'dim'), { largest: Boolean(a.largest) });
    return [values, indices];
  },
};

export function attentionOpCases(): AttentionOpCase[] {
  return loadFixture<{ cases: AttentionOpCase[] }>('attention-ops.json').cases;
}

export interface AttentionOpRun {
  /** The floating dtype the inputs are cast to (integer and bool inputs keep theirs). */
  dtype: 'float32' | 'float64';
  /** Where the inputs are moved (their layout kept: a transposed input stays a transposed view). */
  device: string;
  rtol: number;
  atol: number;
}

/** A fixture input on `run`'s device and dtype, a transposed view where the fixture's is. */
function place(e: EncodedTensor, run: AttentionOpRun, grad: boolean): Tensor {
  const x = decodeTensor(e);
  const convert = (t: Tensor) => (t.dtype === 'float64' && run.dtype !== 'float64' ? t.to(run.dtype) : t).to(run.device);
  const moved = e.t ? convert(x.transpose(-1, -2).contiguous()).transpose(-1, -2) : convert(x);
  const leaf = moved.detach();
  return grad ? leaf.requiresGrad_() : leaf;
}

async function valuesOf(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

/**
 * Runs one fixture case on `run`'s device and dtype and checks every output and every input's
 * gradient against PyTorch's (indices exactly; with `anyTieOrder`, each index must point at the value
 * PyTorch returned in its place).
 */
export async function checkAttentionOpCase(c: AttentionOpCase, run: AttentionOpRun): Promise<void> {
  const tol = { rtol: run.rtol, atol: run.atol };
  const inputs = c.inputs.map((e, i) => place(e, run, c.grads[i] !== null && c.grads[i] !== undefined));
  // A float64 `dtype` argument means the run's floating dtype (WebGPU has no float64).
  const args = c.args.dtype === 'float64' ? { ...c.args, dtype: run.dtype } : c.args;
  const outputs = ATTENTION_OPS[c.op](inputs, args);
  if (outputs.length !== c.outputs.length) throw new Error(`${c.op} ${c.note}: ${outputs.length} outputs, PyTorch has ${c.outputs.length}`);
  for (const [k, out] of outputs.entries()) {
    const want = c.outputs[k];
    if (out.device !== run.device) throw new Error(`${c.op}: output ${k} on ${out.device}, expected ${run.device}`);
    if (JSON.stringify(out.shape) !== JSON.stringify(want.shape)) throw new Error(`${c.op} ${c.note}: output ${k} has shape [${out.shape}], PyTorch's [${want.shape}]`);
    const wantDtype = want.dtype === 'float64' ? run.dtype : want.dtype;
    if (out.dtype !== wantDtype) throw new Error(`${c.op} ${c.note}: output ${k} is ${out.dtype}, expected ${wantDtype}`);
    const got = await valuesOf(out);
    const expected = want.data.map(Number);
    if (c.anyTieOrder && out.dtype === 'int32') {
      const x = c.inputs[0];
      const picked = await valuesOf(inputs[0].gather(num(c.args, 'dim'), out).to(run.dtype));
      expectClose(picked, c.outputs[0].data.map(Number), { ...tol, what: `${c.op} ${c.note}: values at the indices (input ${JSON.stringify(x.shape)})` });
      continue;
    }
    expectClose(got, expected, out.dtype === 'int32' || out.dtype === 'bool' ? { rtol: 0, atol: 0, what: `${c.op} ${c.note}: output ${k}` } : { ...tol, what: `${c.op} ${c.note}: output ${k}` });
  }
  if (!c.grads.some((g) => g !== null)) return;
  const terms = outputs.flatMap((o, k) => {
    const v = c.cotangents[k];
    if (!v) return [];
    const cot = decodeTensor({ shape: o.shape, dtype: 'float64', data: v });
    return [o.mul((run.dtype === 'float64' ? cot : cot.to(run.dtype)).to(run.device)).sum()];
  });
  terms.reduce((a, b) => a.add(b)).backward();
  for (const [i, want] of c.grads.entries()) {
    if (want === null) continue;
    const g = inputs[i].grad;
    if (g === null) throw new Error(`${c.op} ${c.note}: input ${i} got no gradient`);
    expectClose(await valuesOf(g), want.map(Number), { ...tol, what: `${c.op} ${c.note}: grad of input ${i}` });
  }
}
