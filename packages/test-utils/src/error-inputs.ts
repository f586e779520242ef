import { enableGrad, full, noGrad, ones, tensor, zeros, type Tensor } from '@tsgrad/autograd';

/**
 * Misuse as data (PyTorch's OpInfo `error_inputs`): each case runs on a device and must end in an
 * Error matching `error`, never a wrong number. Every backend's tests iterate this one table (the
 * CPU in autograd, the GPU in webgpu). `run` may return a promise: errors that a device detects
 * asynchronously (an index out of bounds, an int32 sum that overflows on the GPU) surface at the read.
 */
export interface ErrorInput {
  name: string;
  run: (device: string) => unknown;
  error: RegExp;
}

const int = (values: number[], device: string) => tensor(values, { dtype: 'int32', device });
const f32 = (values: number[], device: string, requiresGrad = false) => tensor(values, { dtype: 'float32', device, requiresGrad });

export const errorInputs: ErrorInput[] = [
  // Integer dtypes never wrap silently.
  { name: 'int32 from an out-of-range number', run: (d) => int([1, 3e9], d), error: /tensor: value 3000000000 at index 1 does not fit int32/ },
  { name: 'int32 from NaN', run: (d) => int([NaN], d), error: /tensor: value NaN at index 0 does not fit int32/ },
  { name: 'int32 from a Float32Array with infinity', run: (d) => tensor(new Float32Array([Infinity]), { dtype: 'int32', device: d }), error: /value Infinity at index 0 does not fit int32/ },
  { name: 'full int32 with NaN', run: (d) => full([2], NaN, { dtype: 'int32', device: d }), error: /full: value NaN does not fit int32/ },
  // A fill value past a floating dtype's finite range is an Error, as PyTorch's checked Scalar::to<T>
  // ("value cannot be converted to type at::Half without overflow"), never a silent ±inf.
  { name: 'full float16 past 65504', run: (d) => full([1], 1e5, { dtype: 'float16', device: d }), error: /full: value 100000 cannot be converted to float16 without overflow \(its finite range is \[-65504, 65504\]: use 65504/ },
  { name: 'full float16 with 65519 (rounds to 65504, still refused)', run: (d) => full([1], 65519, { dtype: 'float16', device: d }), error: /full: value 65519 cannot be converted to float16/ },
  { name: 'fill_ float16 with 65520', run: (d) => zeros([2], { dtype: 'float16', device: d }).fill_(65520), error: /fill_: value 65520 cannot be converted to float16/ },
  { name: 'fill_ bfloat16 past its max', run: (d) => zeros([2], { dtype: 'bfloat16', device: d }).fill_(3.5e38), error: /fill_: value 3\.5e\+38 cannot be converted to bfloat16 without overflow \(its finite range is \[-3\.3895313892515355e\+38/ },
  { name: 'maskedFill float16 with -1e9', run: (d) => zeros([2], { dtype: 'float16', device: d }).maskedFill(tensor([true, false], { device: d }), -1e9), error: /masked_fill: value -1000000000 cannot be converted to float16 without overflow .*use -65504, the finfo min/ },
  { name: 'maskedFill_ float16 with a 0-d CPU tensor -1e9', run: (d) => noGrad(() => zeros([2], { dtype: 'float16', device: d }).maskedFill_(tensor([true, false], { device: d }), tensor(-1e9, { dtype: 'float64' }))), error: /masked_fill: value -1000000000 cannot be converted to float16/ },
  { name: 'maskedFill float16 with a 0-d int32 CPU tensor 100000', run: (d) => zeros([2], { dtype: 'float16', device: d }).maskedFill(tensor([true, false], { device: d }), tensor(100000, { dtype: 'int32' })), error: /masked_fill: value 100000 cannot be converted to float16 without overflow/ },
  { name: 'full int32 with 2147483647.5', run: (d) => full([1], 2147483647.5, { dtype: 'int32', device: d }), error: /value 2147483647\.5 does not fit int32/ },
  { name: 'maskedFill float32 with 1e39', run: (d) => f32([0, 0], d).maskedFill(tensor([true, false], { device: d }), 1e39), error: /masked_fill: value 1e\+39 cannot be converted to float32 without overflow/ },
  { name: 'full float32 with 1e39', run: (d) => full([1], 1e39, { device: d }), error: /full: value 1e\+39 cannot be converted to float32/ },
  { name: 'full float32 just past finfo max', run: (d) => full([1], 3.4028235677973366e38, { dtype: 'float32', device: d }), error: /full: value 3\.4028235677973366e\+38 cannot be converted to float32/ },
  { name: 'int32 plus an out-of-range scalar', run: (d) => int([1], d).add(3e9), error: /scalar: value 3000000000 does not fit int32/ },
  { name: 'int32.add_(2.5)', run: (d) => int([1, 2], d).add_(2.5), error: /add_: result type float32 can't be cast to the desired output type int32/ },
  { name: 'int32.div_(2)', run: (d) => int([4], d).div_(2), error: /div_: result type float32 can't be cast to the desired output type int32/ },
  { name: 'bool.add_(1)', run: (d) => tensor([true], { device: d }).add_(1), error: /add_: result type int32 can't be cast to the desired output type bool/ },
  { name: 'int32 to a negative power', run: (d) => int([2, 3], d).pow(-1), error: /pow: integers to negative integer powers are not allowed \(int32 exponent -1\)/ },
  { name: 'an int32 sum past 2^31', run: async (d) => int([2 ** 30, 2 ** 30], d).sum().data(), error: /sum: .*int32.* overflow/ },
  // Messages that name the culprit.
  { name: 'tensor() with PyTorch spelling', run: (d) => tensor([1], { device: d, requires_grad: true } as object), error: /tensor: unknown option 'requires_grad'; did you mean 'requiresGrad'\?/ },
  { name: 'zeros() with a typo', run: (d) => zeros([2], { device: d, dtpye: 'float32' } as object), error: /zeros: unknown option 'dtpye'; did you mean 'dtype'\?/ },
  { name: 'backward with a plain array', run: (d) => (f32([1, 2], d, true).mul(2).backward as (g: unknown) => void)([1, 1]), error: /backward: gradient must be a Tensor of shape \[2\], got a plain array; wrap it/ },
  { name: 'backward with an unknown option', run: (d) => f32([1], d, true).sum().backward(undefined, { retain_graph: true } as object), error: /backward: unknown option 'retain_graph'; did you mean 'retainGraph'\?/ },
  { name: "to('int64')", run: (d) => ones([2], { device: d }).to('int64'), error: /to\('int64'\): 'int64' is a dtype tsgrad does not support, not a device/ },
  { name: 'a huge allocation', run: (d) => zeros([100000, 100000], { device: d }), error: /zeros: cannot allocate memory for a float32 tensor of shape \[100000, 100000\] \(10000000000 elements, 40.0 GB\)/ },
  { name: 'noGrad of an async function', run: () => noGrad(async () => 0), error: /noGrad: fn returned a Promise/ },
  { name: 'enableGrad of an async function', run: () => enableGrad(async () => 0), error: /enableGrad: fn returned a Promise/ },
  // Autograd: saved outputs are version-checked.
  {
    name: 'an output modified in place before backward',
    run: (d) => {
      const y: Tensor = f32([0.5, 1], d, true).exp();
      noGrad(() => y.mul_(100));
      y.sum().backward();
    },
    error: /output 0 of exp \(shape \[2\], dtype float32\) is at version 1; expected version 0 instead/,
  },
  { name: 'gather out of bounds', run: async (d) => f32([1, 2, 3], d).gather(0, int([5], d)).data(), error: /gather: index 5 is out of bounds|gather: an index was out of bounds/ },
  { name: 'unbroadcastable add', run: (d) => ones([2, 3], { device: d }).add(ones([4], { device: d })), error: /add: shapes \[2, 3\] and \[4\] are not broadcastable/ },
  // The ops of attention and sampling, with PyTorch's messages.
  { name: 'split sizes not summing to the dim', run: (d) => ones([5], { device: d }).split([2, 2]), error: /split_with_sizes expects split_sizes to sum exactly to 5 \(input tensor's size at dimension 0\), but got split_sizes=\[2, 2\]/ },
  { name: 'split with a negative size', run: (d) => ones([5], { device: d }).split([2, -1, 4]), error: /split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=\[2, -1, 4\]/ },
  { name: 'split with size 0', run: (d) => ones([5], { device: d }).split(0), error: /split_size can only be 0 if dimension size is 0, but got dimension size of 5/ },
  { name: 'split with a negative split size', run: (d) => ones([5], { device: d }).split(-1), error: /split expects split_size be non-negative, but got split_size=-1/ },
  { name: 'chunk into 0', run: (d) => ones([4], { device: d }).chunk(0), error: /chunk expects `chunks` to be greater than 0, got: 0/ },
  { name: 'split along a missing dim', run: (d) => ones([2, 3], { device: d }).split(1, 2), error: /split: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/ },
  { name: 'tril of a vector', run: (d) => ones([3], { device: d }).tril(), error: /tril: input tensor must have at least 2 dimensions, got shape \[3\]/ },
  { name: 'triu with a fractional diagonal', run: (d) => ones([2, 2], { device: d }).triu(0.5), error: /triu: diagonal must be an integer, got 0.5/ },
  { name: 'maskedFill with an int32 mask', run: (d) => ones([2], { device: d }).maskedFill(int([1, 0], d), 0), error: /masked_fill only supports boolean masks, but got mask with dtype int32/ },
  { name: 'maskedFill with a 1-d value', run: (d) => ones([2], { device: d }).maskedFill(tensor([true, false], { device: d }), f32([1], d)), error: /masked_fill only supports a 0-dimensional value tensor, but got tensor with 1 dimension\(s\)/ },
  { name: 'maskedFill_ with a mask wider than x', run: (d) => ones([5], { device: d }).maskedFill_(ones([2, 5], { device: d }).gt(0), 1), error: /masked_fill_: output with shape \[5\] doesn't match the broadcast shape \[2, 5\]/ },
  { name: 'maskedFill_ on a leaf that requires grad', run: (d) => f32([1, 2], d, true).maskedFill_(tensor([true, false], { device: d }), 0), error: /masked_fill_: a leaf Variable that requires grad is being used in an in-place operation/ },
  { name: 'cumsum along a missing dim', run: (d) => ones([2, 3], { device: d }).cumsum(-3), error: /cumsum: dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)/ },
  { name: 'cumsum with a typo', run: (d) => ones([2], { device: d }).cumsum(0, { dtpye: 'int32' } as object), error: /cumsum: unknown option 'dtpye'; did you mean 'dtype'\?/ },
  { name: 'sort with PyTorch spelling mistyped', run: (d) => ones([2], { device: d }).sort(0, { decending: true } as object), error: /sort: unknown option 'decending'; did you mean 'descending'\?/ },
  { name: 'sort with its options where dim goes', run: (d) => ones([3], { device: d }).sort({ descending: true } as unknown as number), error: /sort: expected dim to be a number, got an options object; options come after dim: x.sort\(-1, \{ descending: true \}\)/ },
  { name: 'topk with k past the size', run: (d) => ones([2, 3], { device: d }).topk(4), error: /topk: selected index k out of range \(k = 4 for dimension 1 of size 3/ },
  { name: 'topk with a typo', run: (d) => ones([3], { device: d }).topk(1, 0, { largets: false } as object), error: /topk: unknown option 'largets'; did you mean 'largest'\?/ },
  { name: 'multinomial of a 3-d tensor', run: (d) => ones([2, 2, 2], { device: d }).multinomial(1), error: /multinomial: prob_dist must be 1 or 2 dim, got shape \[2, 2, 2\]/ },
  { name: 'multinomial of int32 weights', run: (d) => int([1, 2], d).multinomial(1), error: /multinomial only supports floating-point dtypes for input, got: int32/ },
  { name: 'multinomial of 0 samples', run: (d) => ones([3], { device: d }).multinomial(0), error: /multinomial: cannot sample n_sample <= 0 samples/ },
  { name: 'multinomial of more samples than categories without replacement', run: (d) => ones([3], { device: d }).multinomial(4), error: /multinomial: cannot sample n_sample > prob_dist.size\(-1\) samples without replacement \(numSamples = 4, 3 categories\)/ },
  { name: 'multinomial with a typo', run: (d) => ones([3], { device: d }).multinomial(1, { replacment: true } as object), error: /multinomial: unknown option 'replacment'; did you mean 'replacement'\?/ },
];
