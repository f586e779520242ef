import { checkOptionKeys } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';
import { empty } from '../empty.js';
import { conv2d } from '../functional/conv.js';
import { pair, type Pair } from '../functional/im2col.js';
import { kaimingUniform_, uniform_, fans } from '../init.js';
import { expectTensor } from '../input.js';
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { pyRepr } from '../repr.js';

export interface Conv2dOptions {
  /**
   * The kernel's step, one number or [height, width].
   * @defaultValue `1`
   */
  stride?: number | Pair;
  /**
   * Implicit zero padding on both sides, one number or [height, width].
   * @defaultValue `0`
   */
  padding?: number | Pair;
  /**
   * Spacing between the kernel's elements, one number or [height, width].
   * @defaultValue `1`
   */
  dilation?: number | Pair;
  /**
   * Blocked connections: inChannels and outChannels are split into this many groups, each convolved separately.
   * @defaultValue `1`
   */
  groups?: number;
  /**
   * Add a learnable bias (false: the layer has no `bias` parameter).
   * @defaultValue `true`
   */
  bias?: boolean;
  /**
   * Only `'zeros'` is supported; `'reflect'`, `'replicate'` and `'circular'` are Errors, never zero padding in disguise.
   * @defaultValue `'zeros'`
   */
  paddingMode?: 'zeros';
}

/**
 * 2-D convolution, PyTorch's `nn.Conv2d` (zero padding). weight [out, in/groups, kh, kw] and bias
 * initialized like Linear (kaiming-uniform with a = √5, bias bound 1/√fan_in).
 * @example new Conv2d(1, 8, 3, { padding: 1 }).forward(x) // [N, 1, 28, 28] -> [N, 8, 28, 28]
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number | Pair, opts: Conv2dOptions = {}) {
    super();
    checkOptionKeys('Conv2d', opts, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode']);
    const paddingMode: string = opts.paddingMode ?? 'zeros';
    if (paddingMode !== 'zeros') {
      throw new Error(`Conv2d: paddingMode '${paddingMode}' is not supported: tsgrad pads with zeros only (paddingMode 'zeros'); pad the input yourself for other modes`);
    }
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) throw new Error(`Conv2d: Invalid groups: ${groups} (expected a positive integer)`);
    if (inChannels % groups !== 0) throw new Error(`Conv2d: in_channels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0) throw new Error(`Conv2d: out_channels (${outChannels}) must be divisible by groups (${groups})`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', opts.stride ?? 1, 1);
    this.padding = pair('padding', opts.padding ?? 0, 0);
    this.dilation = pair('dilation', opts.dilation ?? 1, 1);
    this.groups = groups;
    this.weight = new Parameter(empty([outChannels, inChannels / groups, ...this.kernelSize]));
    this.registerParameter('bias', opts.bias === false ? null : new Parameter(empty([outChannels]))); // null: declared absent, as PyTorch's
    this.resetParameters();
  }

  /**
   * Re-draws weight and bias as PyTorch's `reset_parameters` does (Kaiming-uniform).
   * @example
   * conv.resetParameters();
   */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
      uniform_(this.bias, -bound, bound);
    }
  }

  /**
   * The 2-d cross-correlation of [N, C, H, W] input with the weight, plus bias.
   * @example
   * new Conv2d(1, 8, 3, { padding: 1 }).forward(randn([2, 1, 28, 28])).shape // [2, 8, 28, 28]
   */
  override forward(x: Tensor): Tensor {
    expectTensor(x, this.toString());
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups }, this.toString());
  }

  /**
   * Channels, kernel size, stride, padding, ..., as PyTorch prints them.
   * @example
   * new Conv2d(1, 8, 3).extraRepr() // '1, 8, kernel_size=(3, 3), stride=(1, 1)'
   */
  override extraRepr(): string {
    // PyTorch's Conv2d.extra_repr: options at their defaults are left out.
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${pyRepr(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyRepr(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}
