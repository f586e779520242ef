import { cat, full, tensor, unscoped, type Tensor } from '@tsgrad/autograd';
import { checkOptionKeys } from '@tsgrad/tensor';

export type Pair = [number, number];

export interface WindowArgs {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  /** Output size rounds up (pooling's `ceil_mode`): extra bottom/right padding, windows must start inside. */
  ceilMode?: boolean;
}

const WINDOW_KEYS = ['kernel', 'stride', 'padding', 'dilation'] as const;

/**
 * The checks of a window bag that a user may pass to `unfold` or the functional pooling: known keys
 * (`extra` adds a function's own) and four integer pairs, so `{ ceil_mode: true }` or `{ kernel: 2 }`
 * is an Error naming the option instead of a silent default or a TypeError.
 */
export function checkWindowArgs(who: string, a: WindowArgs, extra: readonly string[] = []): void {
  checkOptionKeys(who, a, [...WINDOW_KEYS, 'ceilMode', ...extra]);
  for (const key of WINDOW_KEYS) {
    const v: unknown = a[key];
    if (!Array.isArray(v) || v.length !== 2 || !v.every(Number.isInteger)) {
      throw new Error(`${who}: ${key} must be a pair of integers [h, w], got ${JSON.stringify(v) ?? String(v)}`);
    }
  }
}

/**
 * `n` or `[a, b]` as a pair, validated (PyTorch's `_pair`): integers of at least `min`, else an Error naming `name`.
 * @example
 * F.pair('stride', 2, 1) // [2, 2]
 * F.pair('padding', [1, 0], 0) // [1, 0]
 */
export function pair(name: string, v: number | readonly number[], min: number): Pair {
  const p = (typeof v === 'number' ? [v, v] : [...v]) as Pair;
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new Error(`Invalid ${name}: ${JSON.stringify(v)} (expected an integer >= ${min} or a pair of them)`);
  }
  return p;
}

/**
 * Constant padding of the last two dims of [N, C, H, W], differentiable (built with `cat`).
 * @example
 * F.pad2d(tensor([[[[1]]]]), { top: 1, bottom: 0, left: 0, right: 1 }).tolist() // [[[[0, 0], [1, 0]]]]
 */
export function pad2d(x: Tensor, pads: { top: number; bottom: number; left: number; right: number }, value = 0): Tensor {
  checkOptionKeys('pad2d', pads, ['top', 'bottom', 'left', 'right']);
  const [N, C, H] = x.shape;
  const opts = { dtype: x.dtype, device: x.device };
  let y = x;
  if (pads.left || pads.right) {
    const parts = [full([N, C, H, pads.left], value, opts), y, full([N, C, H, pads.right], value, opts)].filter((t) => t.shape[3] > 0);
    y = cat(parts, 3);
  }
  if (pads.top || pads.bottom) {
    const W = y.shape[3];
    const parts = [full([N, C, pads.top, W], value, opts), y, full([N, C, pads.bottom, W], value, opts)].filter((t) => t.shape[2] > 0);
    y = cat(parts, 2);
  }
  return y;
}

/** Output length along one dim, and the extra right padding that ceil mode needs. */
function outSize(input: number, w: { pad: number; k: number; s: number; d: number; ceil: boolean }): { size: number; extra: number } {
  const { pad, k, s, d, ceil } = w;
  const span = d * (k - 1) + 1;
  const exact = (input + 2 * pad - span) / s;
  let size = (ceil ? Math.ceil(exact) : Math.floor(exact)) + 1;
  // PyTorch: with ceil_mode the last window must start inside the input or the left padding.
  if (ceil && (size - 1) * s >= input + pad) size--;
  const extra = Math.max(0, (size - 1) * s + span - (input + 2 * pad));
  return { size, extra };
}

const indexCache = new Map<string, Tensor>();

/**
 * im2col: [N, C, H, W] -> [N, C, kh*kw, Ho*Wo], every window of the (padded) input, gathered in one
 * op from a cached index so the backward pass is a single scatter-add.
 * @example
 * const { cols, outH, outW } = F.unfold(tensor([[[[1, 2], [3, 4]]]]), { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [1, 1] });
 * cols.tolist() // [[[[1], [2], [3], [4]]]], with outH = outW = 1
 */
export function unfold(x: Tensor, a: WindowArgs, padValue = 0, who = 'unfold'): { cols: Tensor; outH: number; outW: number } {
  checkWindowArgs(who, a);
  if (x.ndim !== 4) throw new Error(`${who}: expected a 4-D input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  const [N, C, H, W] = x.shape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [ph, pw] = a.padding;
  const [dh, dw] = a.dilation;
  const oh = outSize(H, { pad: ph, k: kh, s: sh, d: dh, ceil: a.ceilMode ?? false });
  const ow = outSize(W, { pad: pw, k: kw, s: sw, d: dw, ceil: a.ceilMode ?? false });
  if (oh.size <= 0 || ow.size <= 0) {
    throw new Error(`${who}: input of spatial size ${H}x${W} (padding ${ph}, ${pw}) is smaller than the kernel ${kh}x${kw} with dilation ${dh}, ${dw}`);
  }
  const xp = pad2d(x, { top: ph, bottom: ph + oh.extra, left: pw, right: pw + ow.extra }, padValue);
  const [Hp, Wp] = xp.shape.slice(2);
  const L = oh.size * ow.size;
  const K = kh * kw;
  const key = [Hp, Wp, kh, kw, sh, sw, dh, dw, oh.size, ow.size, x.device].join(',');
  let index = indexCache.get(key);
  if (!index) {
    const idx = new Int32Array(K * L);
    for (let ki = 0; ki < kh; ki++)
      for (let kj = 0; kj < kw; kj++)
        for (let oi = 0; oi < oh.size; oi++)
          for (let oj = 0; oj < ow.size; oj++) {
            idx[((ki * kw + kj) * oh.size + oi) * ow.size + oj] = (oi * sh + ki * dh) * Wp + (oj * sw + kj * dw);
          }
    // Cached across calls, so never freed by the scope() that happens to create it.
    index = unscoped(() => tensor(idx, { device: x.device }).reshape([1, 1, K * L]));
    if (indexCache.size > 256) indexCache.clear();
    indexCache.set(key, index);
  }
  const cols = xp.reshape([N, C, Hp * Wp]).gather(2, index.expand([N, C, K * L])).reshape([N, C, K, L]);
  return { cols, outH: oh.size, outW: ow.size };
}
