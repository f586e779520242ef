import { cat, chunk, cumsum, maskedFill, maximum, minimum, sort, split, stack, topk, tril, triu, unaryOp, where, type Tensor } from '@tsgrad/autograd';
import { UNARY_OPS, type UnaryOp } from '@tsgrad/tensor';
import type { SampleMaker } from './sample-maker.js';

/** Op arguments, named as in PyTorch (and in the fixture generator's table). */
export type OpArgs = Record<string, unknown>;

export interface OpSample {
  inputs: Tensor[];
  args: OpArgs;
  note: string;
}

/**
 * One row of the op table (PyTorch's OpInfo): how to call the op from inputs and args, and random
 * samples exercising broadcasting, strided views and batching. The same names key the PyTorch fixtures
 * (scripts/gen_fixtures.py), and every backend's conformance test iterates this table.
 */
export interface OpInfo {
  name: string;
  fn: (inputs: Tensor[], args: OpArgs) => Tensor;
  /** False for comparisons and argmax: checked forward only. */
  differentiable: boolean;
  samples: (m: SampleMaker) => OpSample[];
}

const num = (a: OpArgs, k: string) => a[k] as number;
const dimArg = (a: OpArgs) => (a.dim ?? null) as number | number[] | null;
const keep = (a: OpArgs) => Boolean(a.keepdim);

function unarySamples(kind: 'randn' | 'pos') {
  return (m: SampleMaker): OpSample[] => [
    { inputs: [m.make([m.size(), m.size()], { kind })], args: {}, note: 'random 2-d' },
    { inputs: [m.make([m.size(2, 3), m.size(2, 4)], { kind, t: true })], args: {}, note: 'transposed view' },
    { inputs: [m.make([], { kind })], args: {}, note: '0-d' },
    { inputs: [m.make([2, m.size(), 3], { kind })], args: {}, note: '3-d' },
  ];
}

function binarySamples(second: 'randn' | 'pos' = 'randn', first: 'randn' | 'pos' = 'randn') {
  return (m: SampleMaker): OpSample[] => {
    const s = [m.size(2, 3), m.size(), m.size(2, 4)];
    const kind = first;
    return [
      { inputs: [m.make(s, { kind }), m.make(s, { kind: second })], args: {}, note: 'same shape' },
      { inputs: [m.make(s, { kind }), m.make(m.broadcastable(s), { kind: second })], args: {}, note: 'broadcast right' },
      { inputs: [m.make(m.broadcastable(s), { kind }), m.make(s, { kind: second })], args: {}, note: 'broadcast left' },
      { inputs: [m.make([3, 4], { kind, t: true }), m.make([], { kind: second })], args: {}, note: 'transposed x 0-d' },
    ];
  };
}

function reduceSamples(m: SampleMaker): OpSample[] {
  return [
    { inputs: [m.make([m.size(2, 4), m.size(2, 4)])], args: {}, note: 'all' },
    { inputs: [m.make([3, m.size(2, 4)], { t: true })], args: { dim: 1 }, note: 'dim 1 of a transposed view' },
    { inputs: [m.make([2, 3, m.size(2, 4)])], args: { dim: [0, 2], keepdim: true }, note: 'dims [0, 2] keepdim' },
    { inputs: [m.make([2, 3, 4])], args: { dim: -1 }, note: 'negative dim' },
  ];
}

const unary = (name: string, f: (x: Tensor) => Tensor, kind: 'randn' | 'pos' = 'randn'): OpInfo => ({
  name,
  fn: ([x]) => f(x),
  differentiable: true,
  samples: unarySamples(kind),
});

const binary = (
  name: string,
  f: (a: Tensor, b: Tensor) => Tensor,
  second: 'randn' | 'pos' = 'randn',
  first: 'randn' | 'pos' = 'randn',
): OpInfo => ({
  name,
  fn: ([a, b]) => f(a, b),
  differentiable: true,
  samples: binarySamples(second, first),
});

const reduction = (name: string, f: (x: Tensor, a: OpArgs) => Tensor): OpInfo => ({
  name,
  fn: ([x], a) => f(x, a),
  differentiable: true,
  samples: reduceSamples,
});

const comparison = (name: string, f: (a: Tensor, b: Tensor) => Tensor): OpInfo => ({
  name,
  fn: ([a, b]) => f(a, b),
  differentiable: false,
  samples: binarySamples(),
});

/**
 * A row per declared differentiable unary op (@tsgrad/tensor's UNARY_OPS), generated: called as its
 * `api` says where that is a Tensor method (`x.exp()`), else by name through `unaryOp` (the
 * functional forms live in @tsgrad/nn; its elementwise-api test checks that each exists and agrees).
 */
const declaredUnary = (Object.keys(UNARY_OPS) as UnaryOp[])
  .filter((name) => UNARY_OPS[name].grad !== null)
  .map((name) => {
    const method = /^x\.(\w+)\(\)$/.exec(UNARY_OPS[name].api)?.[1] as keyof Tensor | undefined;
    const call = method ? (x: Tensor) => (x[method] as () => Tensor)() : (x: Tensor) => unaryOp(name, x);
    return unary(name, call, UNARY_OPS[name].domain[0] === 'positive' ? 'pos' : 'randn');
  });

export const opInfos: OpInfo[] = [
  ...declaredUnary,
  unary('reciprocal', (x) => x.reciprocal(), 'pos'),
  unary('square', (x) => x.square()),
  binary('add', (a, b) => a.add(b)),
  {
    name: 'add_alpha',
    fn: ([a, b], args) => a.add(b, { alpha: num(args, 'alpha') }),
    differentiable: true,
    samples: (m) => binarySamples()(m).map((s) => ({ ...s, args: { alpha: -0.5 } })),
  },
  binary('sub', (a, b) => a.sub(b)),
  binary('mul', (a, b) => a.mul(b)),
  binary('div', (a, b) => a.div(b), 'pos'),
  binary('pow', (a, b) => a.pow(b), 'randn', 'pos'),
  binary('maximum', (a, b) => maximum(a, b)),
  binary('minimum', (a, b) => minimum(a, b)),
  ...(['add_scalar', 'mul_scalar', 'div_scalar'] as const).map(
    (name): OpInfo => ({
      name,
      fn: ([x], args) => {
        const other = num(args, 'other');
        return name === 'add_scalar' ? x.add(other) : name === 'mul_scalar' ? x.mul(other) : x.div(other);
      },
      differentiable: true,
      samples: (m) => unarySamples('randn')(m).map((s) => ({ ...s, args: { other: 2.5 } })),
    }),
  ),
  {
    name: 'pow_scalar',
    fn: ([x], args) => x.pow(num(args, 'exponent')),
    differentiable: true,
    samples: (m) => [
      ...unarySamples('randn')(m).map((s) => ({ ...s, args: { exponent: 2 } })),
      ...unarySamples('pos')(m).map((s) => ({ ...s, args: { exponent: 1.5 }, note: `${s.note}, exponent 1.5` })),
    ],
  },
  {
    name: 'where',
    fn: ([c, a, b]) => where(c, a, b),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4], { kind: 'bool' }), m.make([3, 4]), m.make([4])], args: {}, note: 'broadcast b' },
      { inputs: [m.make([3, 1], { kind: 'bool' }), m.make([1, 4]), m.make([3, 4], { t: true })], args: {}, note: 'all broadcast' },
    ],
  },
  {
    name: 'clamp',
    fn: ([x], args) => x.clamp({ min: args.min as number | undefined, max: args.max as number | undefined }),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([4, 5])], args: { min: -0.5, max: 0.7 }, note: 'both bounds' },
      { inputs: [m.make([4, 5], { t: true })], args: { min: 0.1 }, note: 'min only' },
      { inputs: [m.make([4, 5])], args: { max: 0.1 }, note: 'max only' },
    ],
  },
  {
    name: 'matmul',
    fn: ([a, b]) => a.matmul(b),
    differentiable: true,
    samples: (m) => {
      const [M, K, N] = [m.size(1, 4), m.size(1, 5), m.size(1, 4)];
      return [
        { inputs: [m.make([M, K]), m.make([K, N])], args: {}, note: '2-d' },
        { inputs: [m.make([M, K], { t: true }), m.make([K, N], { t: true })], args: {}, note: 'both transposed' },
        { inputs: [m.make([2, M, K]), m.make([2, K, N])], args: {}, note: 'batched' },
        { inputs: [m.make([2, 1, M, K]), m.make([3, K, N])], args: {}, note: 'broadcast batch' },
        { inputs: [m.make([K]), m.make([2, K, N])], args: {}, note: 'vector x batch' },
        { inputs: [m.make([M, K]), m.make([K])], args: {}, note: 'matrix-vector' },
        { inputs: [m.make([K]), m.make([K])], args: {}, note: 'dot' },
        // A batch times one matrix folds the batch into the rows (a view, or a copy when transposed).
        { inputs: [m.make([2, 3, M, K]), m.make([K, N], { t: true })], args: {}, note: 'batch x shared matrix' },
        { inputs: [m.make([3, M, K], { t: true }), m.make([K, N])], args: {}, note: 'transposed batch x shared matrix' },
        { inputs: [m.make([2, M, K]), m.make([K])], args: {}, note: 'batch x vector' },
      ];
    },
  },
  reduction('sum', (x, a) => x.sum(dimArg(a), { keepdim: keep(a) })),
  reduction('mean', (x, a) => x.mean(dimArg(a), { keepdim: keep(a) })),
  reduction('max', (x, a) => x.max(dimArg(a), { keepdim: keep(a) })),
  reduction('min', (x, a) => x.min(dimArg(a), { keepdim: keep(a) })),
  reduction('var', (x, a) => x.var(dimArg(a), { correction: (a.correction as number) ?? 1, keepdim: keep(a) })),
  reduction('std', (x, a) => x.std(dimArg(a), { correction: (a.correction as number) ?? 1, keepdim: keep(a) })),
  {
    name: 'logsumexp',
    fn: ([x], a) => x.logsumexp(a.dim as number, { keepdim: keep(a) }),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4])], args: { dim: 1 }, note: 'dim 1' },
      { inputs: [m.make([3, 4], { t: true })], args: { dim: 0, keepdim: true }, note: 'transposed keepdim' },
    ],
  },
  ...(['softmax', 'log_softmax'] as const).map(
    (name): OpInfo => ({
      name,
      fn: ([x], a) => (name === 'softmax' ? x.softmax(a.dim as number) : x.logSoftmax(a.dim as number)),
      differentiable: true,
      samples: (m) => [
        { inputs: [m.make([3, m.size(2, 5)])], args: { dim: -1 }, note: 'last dim' },
        { inputs: [m.make([3, 5], { t: true })], args: { dim: 0 }, note: 'dim 0 of transposed' },
        { inputs: [m.make([2, 3, 4])], args: { dim: 1 }, note: 'middle dim' },
      ],
    }),
  ),
  {
    name: 'reshape',
    fn: ([x], a) => x.reshape(a.shape as number[]),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4])], args: { shape: [2, 6] }, note: 'view' },
      { inputs: [m.make([3, 4], { t: true })], args: { shape: [12] }, note: 'copy of transposed' },
      { inputs: [m.make([2, 3, 4])], args: { shape: [-1, 4] }, note: 'infer -1' },
    ],
  },
  {
    name: 'view',
    fn: ([x], a) => x.view(a.shape as number[]),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([6, 4])], args: { shape: [2, 3, 4] }, note: 'split dim' }],
  },
  {
    name: 'transpose',
    fn: ([x], a) => x.transpose(num(a, 'dim0'), num(a, 'dim1')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([2, 3, 4])], args: { dim0: 0, dim1: 2 }, note: '0,2' }],
  },
  {
    name: 'permute',
    fn: ([x], a) => x.permute(a.dims as number[]),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([2, 3, 4], { t: true })], args: { dims: [2, 0, 1] }, note: 'of transposed' }],
  },
  {
    name: 'unsqueeze',
    fn: ([x], a) => x.unsqueeze(num(a, 'dim')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([3, 4], { t: true })], args: { dim: 1 }, note: 'dim 1' }],
  },
  {
    name: 'squeeze',
    fn: ([x], a) => x.squeeze(a.dim as number | undefined),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 1, 4, 1])], args: {}, note: 'all' },
      { inputs: [m.make([3, 1, 4, 1])], args: { dim: 1 }, note: 'dim 1' },
    ],
  },
  {
    name: 'expand',
    fn: ([x], a) => x.expand(a.shape as number[]),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([3, 1])], args: { shape: [2, 3, 4] }, note: 'new and size-1 dims' }],
  },
  {
    name: 'flatten',
    fn: ([x], a) => x.flatten((a.start as number) ?? 0, (a.end as number) ?? -1),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([2, 3, 4, 2])], args: { start: 1, end: 2 }, note: '1..2' }],
  },
  {
    name: 'narrow',
    fn: ([x], a) => x.narrow(num(a, 'dim'), num(a, 'start'), num(a, 'length')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([3, 5], { t: true })], args: { dim: 1, start: 1, length: 3 }, note: 'dim 1' }],
  },
  {
    name: 'slice',
    fn: ([x], a) => x.slice(num(a, 'dim'), num(a, 'start'), num(a, 'end'), num(a, 'step')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([4, 7])], args: { dim: 1, start: 1, end: 6, step: 2 }, note: 'step 2' }],
  },
  {
    name: 'select',
    fn: ([x], a) => x.select(num(a, 'dim'), num(a, 'index')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([3, 4])], args: { dim: 0, index: -1 }, note: 'last row' }],
  },
  {
    name: 'cat',
    fn: (xs, a) => cat(xs, num(a, 'dim')),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([2, 3]), m.make([1, 3]), m.make([3, 3], { t: true })], args: { dim: 0 }, note: 'dim 0' },
      { inputs: [m.make([2, 3]), m.make([2, 2])], args: { dim: 1 }, note: 'dim 1' },
    ],
  },
  {
    name: 'stack',
    fn: (xs, a) => stack(xs, num(a, 'dim')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([2, 3]), m.make([2, 3], { t: true })], args: { dim: 1 }, note: 'dim 1' }],
  },
  {
    name: 'gather',
    fn: ([x, i], a) => x.gather(num(a, 'dim'), i),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4]), m.make([3, 6], { kind: 'index', high: 4 })], args: { dim: 1 }, note: 'dim 1, repeats' },
      { inputs: [m.make([3, 4], { t: true }), m.make([5, 2], { kind: 'index', high: 3 })], args: { dim: 0 }, note: 'dim 0' },
    ],
  },
  {
    name: 'index_select',
    fn: ([x, i], a) => x.indexSelect(num(a, 'dim'), i),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([5, 3]), m.make([7], { kind: 'index', high: 5 })], args: { dim: 0 }, note: 'rows' },
      { inputs: [m.make([3, 5], { t: true }), m.make([4], { kind: 'index', high: 5 })], args: { dim: 1 }, note: 'columns' },
    ],
  },
  {
    name: 'scatter_add',
    fn: ([x, i, s], a) => x.scatterAdd(num(a, 'dim'), i, s),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([4, 3]), m.make([6, 3], { kind: 'index', high: 4 }), m.make([6, 3])], args: { dim: 0 }, note: 'dim 0' },
    ],
  },
  // Multi-output ops as one tensor: split's pieces concatenated in reverse (each piece a view, so the
  // gradient crosses every slice), chunk's stacked, sort's and topk's values (indices are checked
  // against PyTorch in attention-ops.json).
  {
    name: 'split',
    fn: ([x], a) => cat(split(x, a.splitSize as number | number[], num(a, 'dim')).reverse(), num(a, 'dim')),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4], { t: true })], args: { splitSize: [1, 3], dim: 1 }, note: 'sizes [1, 3] along dim 1 of a transposed view' },
      { inputs: [m.make([5, 3])], args: { splitSize: 2, dim: 0 }, note: 'size 2 along dim 0' },
    ],
  },
  {
    name: 'chunk',
    fn: ([x], a) => stack(chunk(x, num(a, 'chunks'), num(a, 'dim'))),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([2, 3, 6])], args: { chunks: 3, dim: -1 }, note: '3 along the last dim' }],
  },
  {
    name: 'tril',
    fn: ([x], a) => tril(x, num(a, 'diagonal')),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([2, 4, 3])], args: { diagonal: -1 }, note: 'batched, diagonal -1' },
      { inputs: [m.make([4, 4], { t: true })], args: { diagonal: 0 }, note: 'transposed view' },
    ],
  },
  {
    name: 'triu',
    fn: ([x], a) => triu(x, num(a, 'diagonal')),
    differentiable: true,
    samples: (m) => [{ inputs: [m.make([3, 5])], args: { diagonal: 1 }, note: 'diagonal 1' }],
  },
  {
    name: 'masked_fill',
    fn: ([x, mask], a) => maskedFill(x, mask, num(a, 'value')),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 4]), m.make([1, 4], { kind: 'bool' })], args: { value: -1.5 }, note: 'broadcast mask' },
      { inputs: [m.make([3, 4], { t: true }), m.make([3, 4], { kind: 'bool' })], args: { value: 0 }, note: 'transposed input' },
    ],
  },
  {
    name: 'cumsum',
    fn: ([x], a) => cumsum(x, num(a, 'dim')),
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 5])], args: { dim: 1 }, note: 'dim 1' },
      { inputs: [m.make([4, 3], { t: true })], args: { dim: 0 }, note: 'dim 0 of a transposed view' },
    ],
  },
  {
    name: 'sort',
    fn: ([x], a) => sort(x, num(a, 'dim'), { descending: Boolean(a.descending) }).values,
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 6])], args: { dim: -1, descending: false }, note: 'last dim' },
      { inputs: [m.make([5, 3], { t: true })], args: { dim: 0, descending: true }, note: 'descending, dim 0 of a transposed view' },
    ],
  },
  {
    name: 'topk',
    fn: ([x], a) => topk(x, num(a, 'k'), num(a, 'dim'), { largest: Boolean(a.largest) }).values,
    differentiable: true,
    samples: (m) => [
      { inputs: [m.make([3, 6])], args: { k: 2, dim: 1, largest: true }, note: 'k 2 largest' },
      { inputs: [m.make([5, 3], { t: true })], args: { k: 3, dim: 0, largest: false }, note: 'k 3 smallest, dim 0' },
    ],
  },
  unary('contiguous', (x) => x.contiguous()),
  unary('clone', (x) => x.clone()),
  comparison('eq', (a, b) => a.eq(b)),
  comparison('lt', (a, b) => a.lt(b)),
  comparison('ge', (a, b) => a.ge(b)),
  {
    name: 'argsort',
    fn: ([x], a) => x.argsort(num(a, 'dim'), { descending: Boolean(a.descending) }),
    differentiable: false,
    samples: (m) => [
      { inputs: [m.make([3, 6])], args: { dim: -1, descending: false }, note: 'last dim' },
      { inputs: [m.make([5, 3], { t: true })], args: { dim: 0, descending: true }, note: 'descending, dim 0 of a transposed view' },
    ],
  },
  ...(['argmax', 'argmin'] as const).map(
    (name): OpInfo => ({
      name,
      fn: ([x], a) => (name === 'argmax' ? x.argmax(a.dim as number | undefined, { keepdim: keep(a) }) : x.argmin(a.dim as number | undefined, { keepdim: keep(a) })),
      differentiable: false,
      samples: (m) => [
        { inputs: [m.make([3, 5])], args: { dim: 1 }, note: 'dim 1' },
        { inputs: [m.make([3, 5], { t: true })], args: { dim: 0, keepdim: true }, note: 'dim 0 keepdim' },
        { inputs: [m.make([3, 5])], args: {}, note: 'all' },
      ],
    }),
  ),
];

/** The opInfo named `name` (throws listing the known names). */
export function opInfo(name: string): OpInfo {
  const info = opInfos.find((o) => o.name === name);
  if (!info) throw new Error(`no opInfo named '${name}'; known: ${opInfos.map((o) => o.name).join(', ')}`);
  return info;
}
