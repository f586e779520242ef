import { describe, expect, it } from 'vitest';
import { getBackend, isFloating, type CpuStorage } from '@tsgrad/tensor';
import { fusedAttention, fusedLayerNorm, Generator, scope, tensor, Tensor } from '@tsgrad/autograd';
import { opInfos, SampleMaker, type OpSample } from '@tsgrad/test-utils';
import { GRADIENTS } from '../src/gradients.js';
import { apply } from '../src/primitives.js';
import type { Node } from '../src/node.js';

/**
 * saved-tensors.ts says which forward values each gradient rule reads; a node holds those and lets
 * the others be freed. Here every rule runs with everything else actually freed: the forward's
 * storages (the leaves, every intermediate and output) that no node keeps go back to the CPU
 * backend, whose freed storages throw on any read. The gradients must then be the same, bit for bit,
 * as those of the same computation with nothing freed, for every op of the opInfos table and every
 * choice of which inputs require a gradient (matmul reads b for a's gradient and a for b's).
 */

/** A copy of `t` in fresh memory with the same strided layout (so freeing it frees nothing shared). */
function copyWithLayout(t: Tensor, requiresGrad: boolean): Tensor {
  const data = (t.storage as CpuStorage).data;
  const copy = new Tensor({ ...t.toView(), storage: getBackend('cpu').fromData(data.slice(), t.dtype) });
  return requiresGrad ? copy.requiresGrad_(true) : copy;
}

/** Every tensor the graph of `out` refers to (inputs and outputs of its nodes), and the nodes. */
function graphOf(out: Tensor): { tensors: Set<Tensor>; nodes: Set<Node> } {
  const tensors = new Set<Tensor>();
  const nodes = new Set<Node>();
  const stack = [out];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (tensors.has(t)) continue;
    tensors.add(t);
    const node = t.gradFn;
    if (!node?.saved) continue;
    nodes.add(node);
    stack.push(...node.saved.inputs, ...node.keptTensors);
  }
  return { tensors, nodes };
}

const seen = new Set<string>();

/**
 * Runs `fn` on copies of `inputs` (those in `grads` requiring a gradient) twice: as is, and with the
 * forward in a scope and every other storage that no node keeps (the leaves) freed before backward.
 * Returns both runs' gradients.
 */
function bothRuns(fn: (xs: Tensor[]) => Tensor, inputs: readonly Tensor[], grads: readonly boolean[]): { kept: (number[] | null)[]; all: (number[] | null)[] } | null {
  const run = (freeUnkept: boolean) => {
    const xs = inputs.map((t, i) => copyWithLayout(t, grads[i]));
    // The forward in a scope: its intermediates live only by the nodes' references, so a node that
    // lets go of its values after its rule (backward does) frees them before earlier rules run.
    const out = freeUnkept ? scope(() => fn(xs)) : fn(xs);
    if (!out.requiresGrad) return null;
    const gen = new Generator(7);
    const seed = tensor(Array.from({ length: out.numel() }, () => gen.normal()), { dtype: out.dtype }).reshape(out.shape);
    if (freeUnkept) {
      const { tensors, nodes } = graphOf(out);
      const keptStorages = new Set([...nodes].flatMap((n) => n.keptTensors.map((k) => k.storage)));
      for (const n of nodes) seen.add(n.op);
      const freed = new Set([...tensors].map((t) => t.storage).filter((s) => !keptStorages.has(s)));
      for (const s of freed) getBackend('cpu').free(s);
    }
    out.backward(seed);
    return xs.map((x, i) => (grads[i] ? Array.from(x.grad!.dataSync()) : null));
  };
  const all = run(false);
  if (all === null) return null;
  return { kept: run(true)!, all };
}

/** Every non-empty choice of the floating inputs (among the first `differentiable`) that require a gradient. */
function gradChoices(inputs: readonly Tensor[], differentiable: number): boolean[][] {
  const floating = inputs.map((t, i) => isFloating(t.dtype) && i < differentiable);
  const n = inputs.length;
  const choices: boolean[][] = [];
  for (let mask = 1; mask < 1 << n; mask++) {
    const c = inputs.map((_, i) => ((mask >> i) & 1) === 1);
    if (c.every((g, i) => !g || floating[i])) choices.push(c);
  }
  return choices;
}

const rows = opInfos
  .filter((o) => o.differentiable)
  .flatMap((info) => info.samples(new SampleMaker(info.name.length * 7919)).map((s) => [`${info.name}: ${s.note}`, info.fn, s] as const));

function checkSample(fn: (xs: Tensor[], args: OpSample['args']) => Tensor, sample: OpSample, differentiable = sample.inputs.length): number {
  let checked = 0;
  for (const choice of gradChoices(sample.inputs, differentiable)) {
    const r = bothRuns((xs) => fn(xs, sample.args), sample.inputs, choice);
    if (r === null) continue;
    expect(r.kept).toEqual(r.all);
    checked++;
  }
  return checked;
}

describe('each gradient rule reads only what its node keeps', () => {
  it.each(rows)('%s', (_, fn, sample) => {
    expect(checkSample(fn, sample)).toBeGreaterThan(0);
  });

  it('the fused primitives (attention with a mask, causal, on half operands; layer norm with and without affine parameters)', () => {
    const m = new SampleMaker(11);
    const f32 = { dtype: 'float32' } as const;
    const [q, k, v] = [m.make([1, 2, 3, 4], f32), m.make([1, 2, 5, 4], f32), m.make([1, 2, 5, 3], f32)];
    const mask = m.make([1, 2, 3, 5], f32).detach();
    expect(checkSample(([a, b, c, d]) => fusedAttention(a, b, c, { scale: 0.5, attnMask: d }), { inputs: [q, k, v, mask], args: {}, note: '' }, 3)).toBe(7);
    expect(checkSample(([a, b, c]) => fusedAttention(a, b, c, { scale: 0.5, isCausal: true }), { inputs: [q, k, v], args: {}, note: '' })).toBe(7);
    // Half operands: the node keeps the half output, as PyTorch's flash backward reads it (and the casts keep nothing).
    const half = ([a, b, c]: Tensor[]) => fusedAttention(a.to('bfloat16'), b.to('bfloat16'), c.to('bfloat16'), { scale: 0.5 });
    expect(checkSample(half, { inputs: [q, k, v], args: {}, note: '' })).toBe(7);
    const [x, w, b] = [m.make([3, 4]), m.make([4]), m.make([4])];
    expect(checkSample(([a, c, d]) => fusedLayerNorm(a, 4, { weight: c, bias: d, eps: 1e-5 }), { inputs: [x, w, b], args: {}, note: '' })).toBe(7);
    expect(checkSample(([a]) => fusedLayerNorm(a, 4, { eps: 1e-5 }), { inputs: [x], args: {}, note: '' })).toBe(1);
  });

  it('the primitives no public op above reaches directly (embedding rows, scatter-add, cumsum)', () => {
    const m = new SampleMaker(12);
    const weight = m.make([5, 3]);
    const indices = tensor([4, 0, 4, 2], { dtype: 'int32' });
    expect(checkSample(([w, i]) => apply('embeddingRows', [w, i], { sparse: false, paddingIdx: 0 }), { inputs: [weight, indices], args: {}, note: '' })).toBe(1);
    const base = m.make([3, 4]);
    const index = tensor([[0, 2, 1, 0], [2, 2, 0, 1]], { dtype: 'int32' });
    const src = m.make([2, 4]);
    expect(checkSample(([a, i, s]) => apply('scatterAdd', [a, i, s], { dim: 0 }), { inputs: [base, index, src], args: {}, note: '' })).toBe(3);
    expect(checkSample(([a]) => apply('cumsum', [a], { axis: 1, reverse: true }), { inputs: [base], args: {}, note: '' })).toBe(1);
  });

  it('covers every primitive with a gradient rule (the tests above ran last)', () => {
    // toDevice needs a second device: webgpu/test covers it; its rule reads only the input's device.
    const untested = Object.entries(GRADIENTS).filter(([op, rule]) => rule !== null && !seen.has(op) && op !== 'toDevice').map(([op]) => op);
    expect(untested).toEqual([]);
  });
});
