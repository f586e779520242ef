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
  { name: "to('float16')", run: (d) => ones([2], { device: d }).to('float16'), error: /to\('float16'\): 'float16' is a dtype tsgrad does not support, not a device/ },
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
];
