import { checkOptionKeys } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';
import { pair, type Pair, type WindowArgs } from '../functional/im2col.js';
import { avgPool2d, maxPool2d } from '../functional/pooling.js';
import { Module } from '../module.js';
import { pyRepr } from '../repr.js';

/** Options of `MaxPool2d` and `AvgPool2d` (PyTorch's keywords). */
export interface PoolOptions {
  /** The window's step, one number or [height, width]. @defaultValue `kernelSize` */
  stride?: number | Pair;
  /** Implicit padding on both sides, one number or [height, width]. @defaultValue 0 */
  padding?: number | Pair;
  /** Round the output size up instead of down. @defaultValue false */
  ceilMode?: boolean;
}

interface ShownArgs {
  kernelSize: number | Pair;
  stride?: number | Pair;
  padding?: number | Pair;
}

const shownArg = (v: number | Pair): string => (typeof v === 'number' ? String(v) : pyRepr(v));

/** PyTorch's pooling extra_repr: the arguments as given, stride defaulting to the kernel size. */
function poolRepr(a: ShownArgs): string {
  return `kernel_size=${shownArg(a.kernelSize)}, stride=${shownArg(a.stride ?? a.kernelSize)}, padding=${shownArg(a.padding ?? 0)}`;
}

function windowArgs(kernelSize: number | Pair, opts: PoolOptions & { dilation?: number | Pair }): WindowArgs {
  const kernel = pair('kernelSize', kernelSize, 1);
  const padding = pair('padding', opts.padding ?? 0, 0);
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) {
    throw new Error(`pad should be at most half of effective kernel size, but got pad=${padding} and kernel_size=${kernel}`);
  }
  return { kernel, stride: pair('stride', opts.stride ?? kernel, 1), padding, dilation: pair('dilation', opts.dilation ?? 1, 1), ceilMode: opts.ceilMode ?? false };
}

/**
 * Max pooling (PyTorch's `nn.MaxPool2d`; stride defaults to the kernel size).
 * @example
 * new MaxPool2d(2).forward(randn([1, 3, 28, 28])).shape // [1, 3, 14, 14]
 */
export class MaxPool2d extends Module {
  readonly args: WindowArgs;
  /** The arguments as given, printed as given (PyTorch prints `kernel_size=2`, not `(2, 2)`). */
  private readonly shown: ShownArgs & { dilation?: number | Pair; ceilMode?: boolean };
  constructor(kernelSize: number | Pair, opts: PoolOptions & { dilation?: number | Pair } = {}) {
    super();
    checkOptionKeys('MaxPool2d', opts, ['stride', 'padding', 'dilation', 'ceilMode']);
    this.args = windowArgs(kernelSize, opts);
    this.shown = { kernelSize, ...opts };
  }
  /**
   * The maximum over each window.
   * @example
   * new MaxPool2d(2).forward(randn([1, 1, 4, 4])).shape // [1, 1, 2, 2]
   */
  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.args, 'MaxPool2d');
  }
  /**
   * Kernel size, stride and padding, as printed.
   * @example
   * new MaxPool2d(2).extraRepr() // 'kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False'
   */
  override extraRepr(): string {
    return `${poolRepr(this.shown)}, dilation=${shownArg(this.shown.dilation ?? 1)}, ceil_mode=${pyRepr(this.shown.ceilMode ?? false)}`;
  }
}

/**
 * Average pooling (PyTorch's `nn.AvgPool2d`; padding counted unless countIncludePad is false).
 * @example
 * new AvgPool2d(2).forward(randn([1, 3, 28, 28])).shape // [1, 3, 14, 14]
 */
export class AvgPool2d extends Module {
  readonly args: WindowArgs & { countIncludePad: boolean };
  private readonly shown: ShownArgs;
  constructor(kernelSize: number | Pair, opts: PoolOptions & { countIncludePad?: boolean } = {}) {
    super();
    checkOptionKeys('AvgPool2d', opts, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    this.args = { ...windowArgs(kernelSize, opts), countIncludePad: opts.countIncludePad ?? true };
    this.shown = { kernelSize, ...opts };
  }
  /**
   * The mean over each window.
   * @example
   * new AvgPool2d(2).forward(ones([1, 1, 4, 4])).sum().item() // 4
   */
  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.args, 'AvgPool2d');
  }
  /**
   * Kernel size, stride and padding, as printed.
   * @example
   * new AvgPool2d(2).extraRepr() // 'kernel_size=2, stride=2, padding=0'
   */
  override extraRepr(): string {
    return poolRepr(this.shown);
  }
}
