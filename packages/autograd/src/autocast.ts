import { checkOptionKeys, isFloating, isHalf, type DType } from '@tsgrad/tensor';
import { rejectPromise } from './grad-mode.js';
import { castIsStale, markRecomputableCast, roundingOperand } from './recomputed-casts.js';
import { unscoped } from './scope.js';
import { Tensor } from './tensor.js';

/**
 * Autocast (PyTorch 2.x's `torch.autocast`): inside `autocast({ device, dtype }, fn)` the ops of one
 * table run in a policy's dtype instead of their inputs'. The table is PyTorch's AutocastCPU
 * registration (aten/src/ATen/autocast_mode.cpp) restricted to the ops tsgrad has; an op joins it by
 * wrapping its public function in `autocastOp(name, fn)` where it is defined, so no op branches on
 * autocast itself. Softmax, logSoftmax, logsumexp, sum and the norm layers are NOT in PyTorch's
 * CPU lists (they are in CUDA's), so on the CPU they run in their inputs' dtype, as torch does; their
 * half kernels compute in float32 and round once anyway (DEVELOPERS.md, "Dtypes"). WebGPU takes
 * CUDA's lists (`AUTOCAST_WEBGPU_POLICY`), a GPU's, where they do run in float32.
 */
export type AutocastPolicy =
  /** Floating inputs cast to the autocast dtype (`lower_precision_fp`). */
  | 'lowerPrecision'
  /** Half inputs cast up to float32 (`fp32`). */
  | 'float32'
  /** Floating inputs cast to the widest of them and the autocast dtype (`promote`). */
  | 'promote';

/** PyTorch 2.x's AutocastCPU policy of each tsgrad op that has one (torch's aten name in the comment). */
export const AUTOCAST_CPU_POLICY = {
  matmul: 'lowerPrecision',
  matmulAdd: 'lowerPrecision', // addmm, baddbmm
  linear: 'lowerPrecision',
  conv2d: 'lowerPrecision',
  scaledDotProductAttention: 'lowerPrecision',
  mseLoss: 'float32', // mse_loss
  l1Loss: 'float32', // l1_loss
  nllLoss: 'float32', // nll_loss
  crossEntropy: 'float32', // cross_entropy_loss
  binaryCrossEntropyWithLogits: 'float32',
  cat: 'promote',
  stack: 'promote',
} as const satisfies Record<string, AutocastPolicy>;

/**
 * PyTorch 2.x's AutocastCUDA policy of each tsgrad op that has one: WebGPU's (a GPU's lists, as
 * torch.autocast('cuda')). `float32` covers CUDA's fp32 list (losses, layer_norm, group_norm,
 * logsumexp) and its fp32_set_opt_dtype list (softmax, log_softmax, sum, cumsum: a half input gives a
 * float32 result). The elementwise ops of CUDA's fp32 list (exp, log, pow, ...) are not wrapped:
 * tsgrad's composites call them inside (var, the GELU forms, ...), where PyTorch runs one aten op that
 * autocast does not re-enter, so casting them would change those composites' result dtypes.
 */
export const AUTOCAST_WEBGPU_POLICY = {
  matmul: 'lowerPrecision',
  matmulAdd: 'lowerPrecision', // addmm, baddbmm
  linear: 'lowerPrecision',
  conv2d: 'lowerPrecision',
  scaledDotProductAttention: 'lowerPrecision',
  mseLoss: 'float32',
  l1Loss: 'float32',
  nllLoss: 'float32',
  crossEntropy: 'float32',
  binaryCrossEntropyWithLogits: 'float32',
  softmax: 'float32', // softmax (fp32_set_opt_dtype)
  logSoftmax: 'float32', // log_softmax (fp32_set_opt_dtype)
  logsumexp: 'float32',
  sum: 'float32', // sum (fp32_set_opt_dtype)
  cumsum: 'float32', // cumsum (fp32_set_opt_dtype)
  layerNorm: 'float32', // layer_norm
  groupNorm: 'float32', // group_norm
  cat: 'promote',
  stack: 'promote',
} as const satisfies Record<string, AutocastPolicy>;

/** An op with an autocast policy on some device. */
export type AutocastOp = keyof typeof AUTOCAST_CPU_POLICY | keyof typeof AUTOCAST_WEBGPU_POLICY;

/** Each autocast device's policy table. */
const POLICIES: Record<AutocastDevice, Readonly<Partial<Record<AutocastOp, AutocastPolicy>>>> = { cpu: AUTOCAST_CPU_POLICY, webgpu: AUTOCAST_WEBGPU_POLICY };

/** The devices autocast knows. */
type AutocastDevice = 'cpu' | 'webgpu';

/** Options of `autocast`: PyTorch's `device_type`, `dtype`, `enabled` and `cache_enabled`. */
export interface AutocastOptions {
  /** Required: the device whose tensors are cast, 'cpu' or 'webgpu'. */
  device: string;
  /**
   * The lower-precision dtype: 'bfloat16' or 'float16'.
   * @defaultValue 'bfloat16' on the CPU, 'float16' on WebGPU (as PyTorch's CPU and CUDA defaults)
   */
  dtype?: 'bfloat16' | 'float16';
  /**
   * false runs `fn` with autocast off (also inside an enclosing autocast).
   * @defaultValue true
   */
  enabled?: boolean;
  /**
   * Whether the casts of parameters are cached until the outermost autocast exits.
   * @defaultValue true
   */
  cacheEnabled?: boolean;
}

const OPTION_KEYS = ['device', 'dtype', 'enabled', 'cacheEnabled'] as const;

interface AutocastState {
  enabled: boolean;
  dtype: 'bfloat16' | 'float16';
  cacheEnabled: boolean;
}

/** Each device's current state (module-level, as grad mode: JavaScript is single-threaded). */
const states: Record<AutocastDevice, AutocastState> = {
  cpu: { enabled: false, dtype: 'bfloat16', cacheEnabled: true },
  webgpu: { enabled: false, dtype: 'float16', cacheEnabled: true },
};
/** Enclosing autocast calls; the weight cache is cleared when it returns to 0 (torch's nesting counter). */
let nesting = 0;
/**
 * Parameter (float32 leaf requiring grad) -> its cast to each half dtype: every use in one autocast
 * shares one cast node. Keyed by the dtype too, so a float16 autocast nested in a bfloat16 one gets
 * its own cast (PyTorch's cache, keyed by the tensor alone, hands it the bfloat16 one and the op fails).
 */
const weightCache = new Map<Tensor, Map<DType, Tensor>>();

/**
 * Runs `fn` with autocast (PyTorch's `torch.autocast(device_type, dtype)`): on `device`, matmul,
 * linear, conv2d and scaledDotProductAttention cast their floating inputs to `dtype` and run there;
 * the losses run in float32 (on WebGPU also softmax, logSoftmax, logsumexp, sum, cumsum, layerNorm
 * and groupNorm, CUDA's lists); cat and stack take the widest floating dtype; other ops run in their
 * inputs' dtype. float64 tensors are never cast. Parameters stay float32 (master weights): their
 * casts are differentiable and cached until the outermost autocast exits, so backward (run it after
 * `autocast` returns, as in PyTorch) stores float32 gradients. Unlike PyTorch's, the graph does not
 * keep a parameter's cast for backward (half the parameters' bytes), nor the batch's (or any float32
 * tensor's with no graph) while the batch is alive: backward reads them again, the same bits (a
 * matmul rounds the float32 values to `dtype` as it loads them, no copy made; linear and matmul read
 * a contiguous batch that way in the forward too, where PyTorch makes its cast), so
 * writing into a parameter or the batch between the forward pass and backward is an Error, as
 * without autocast; and a parameter written while its cast is cached is cast again at its
 * next use (PyTorch's cache would hand out the old cast). Nor does it keep a float32 sum of a tensor
 * it holds anyway and a half output (the residual stream: x + attn(x)) that a LayerNorm reads: it
 * keeps the half output and adds again in backward, the same bits (recomputed-sums.ts). An async
 * `fn` is an Error.
 * @example
 * const model = new Linear(4, 2);
 * const loss = autocast({ device: 'cpu' }, () => {
 *   const y = model.forward(randn([8, 4])); // y.dtype === 'bfloat16'
 *   return F.mseLoss(y, zeros([8, 2]));    // float32 (mse_loss is on the float32 list)
 * });
 * loss.backward(); // model.weight.grad.dtype === 'float32'
 * // On WebGPU the default dtype is float16 (pair it with a GradScaler):
 * autocast({ device: 'webgpu' }, () => model.forward(x)); // float16 logits
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  checkOptionKeys('autocast', options, OPTION_KEYS);
  const { device, enabled = true, cacheEnabled = true } = options ?? ({} as AutocastOptions);
  if (device !== 'cpu' && device !== 'webgpu') throw new Error(`autocast: unknown device ${JSON.stringify(device)}; expected 'cpu' or 'webgpu'`);
  const dtype = options?.dtype ?? (device === 'cpu' ? 'bfloat16' : 'float16');
  if (dtype !== 'bfloat16' && dtype !== 'float16') {
    throw new Error(`autocast: dtype ${JSON.stringify(dtype)} is not a lower-precision dtype; expected 'bfloat16' or 'float16'`);
  }
  if (typeof enabled !== 'boolean') throw new Error(`autocast: enabled must be a boolean, got ${String(enabled)}`);
  if (typeof cacheEnabled !== 'boolean') throw new Error(`autocast: cacheEnabled must be a boolean, got ${String(cacheEnabled)}`);
  const saved = states[device];
  states[device] = { enabled, dtype, cacheEnabled };
  nesting++;
  let result: T;
  try {
    result = fn();
  } finally {
    states[device] = saved;
    if (--nesting === 0) clearWeightCache();
  }
  return rejectPromise(result, 'autocast', 'autocast');
}

/**
 * Whether autocast is on for `device` now (PyTorch's `torch.is_autocast_enabled(device_type)`).
 * @example
 * autocast({ device: 'cpu' }, () => isAutocastEnabled('cpu')) // true
 */
export function isAutocastEnabled(device = 'cpu'): boolean {
  return (device === 'cpu' || device === 'webgpu') && states[device].enabled;
}

/** torch's `is_eligible`: a float32 or half tensor on the autocast device (float64 is never cast). */
function eligible(value: unknown, device: string): value is Tensor {
  return value instanceof Tensor && value.device === device && isFloating(value.dtype) && value.dtype !== 'float64';
}

/**
 * Lets go of the cached casts (torch's `clear_cache()` when the outermost autocast exits): all are
 * freed now, also those a graph node's rule reads (a weight's cast, which the input's gradient
 * multiplies by), which PyTorch's graph keeps alive: tsgrad's node holds the parameter instead and
 * casts it again in backward (recomputed-casts.ts). No cast in the cache is a tensor the user was
 * handed (ops return their own results).
 */
function clearWeightCache(): void {
  for (const casts of weightCache.values()) for (const cast of casts.values()) cast._release();
  weightCache.clear();
}

/**
 * The ops whose first two tensors are used only as matmul operands, through views (x and the weight
 * of linear; matmulAdd's addend, the third, is added elementwise): autocast hands them a float32
 * tensor with no graph, such as the batch or a frozen weight, as a rounding view where the backend's
 * matmul takes one (`roundingOperand`), so the half copy PyTorch makes (and its graph keeps) is never
 * made: the matmul rounds the values as it loads them, with the cast's bits.
 */
const MATMUL_OPERANDS = new Set<AutocastOp>(['matmul', 'matmulAdd', 'linear']);

/** torch's `cached_cast`: float32 parameters cast to the lower dtype are cached, everything else cast anew. */
function cachedCast(t: Tensor, dtype: DType, state: AutocastState): Tensor {
  if (t.dtype === dtype) return t;
  const parameter = dtype === state.dtype && t.dtype === 'float32' && t.requiresGrad && t.isLeaf;
  // Any other float32 leaf (the batch) is cast anew, not cached, as in PyTorch.
  if (!parameter) return t.dtype === 'float32' && isHalf(dtype) && t.isLeaf ? recomputableCast(t, dtype) : t.to(dtype);
  if (!state.cacheEnabled) return recomputableCast(t, dtype);
  const casts = weightCache.get(t) ?? new Map<DType, Tensor>();
  weightCache.set(t, casts);
  let cast = casts.get(dtype);
  // A parameter written since its cast was cached (an optimizer step inside the autocast) is cast
  // again: PyTorch's cache would hand out the old values.
  if (cast !== undefined && castIsStale(cast)) {
    cast._release();
    cast = undefined;
  }
  // Made outside every scope(): the cache outlives a scope nested in the autocast.
  if (cast === undefined) casts.set(dtype, (cast = unscoped(() => recomputableCast(t, dtype))));
  return cast;
}

/**
 * The cast of a float32 leaf (a parameter; a tensor with no graph, such as the batch or a frozen
 * weight), which the graph keeps only once the leaf itself is gone: until then backward casts it
 * again (recomputed-casts.ts).
 */
function recomputableCast(t: Tensor, dtype: DType): Tensor {
  const cast = t.to(dtype);
  markRecomputableCast(cast, t);
  return cast;
}

/** Applies `f` to each tensor of `device` among the arguments: positional, in arrays (cat), or values of an options object. */
function mapTensors(args: readonly unknown[], device: string, f: (t: Tensor) => Tensor): unknown[] {
  const one = (v: unknown): unknown => (eligible(v, device) ? f(v) : v);
  return args.map((a) => {
    if (Array.isArray(a)) return a.map(one);
    if (a !== null && typeof a === 'object' && !(a instanceof Tensor) && Object.getPrototypeOf(a) === Object.prototype) {
      return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, one(v)]));
    }
    return one(a);
  });
}

const WIDER: Record<string, number> = { bfloat16: 1, float16: 1, float32: 2 };

/** torch's `promote_type`: the autocast dtype promoted with every eligible input's (bfloat16 with float16 is float32). */
function promoted(args: readonly unknown[], device: AutocastDevice): DType {
  let to: DType = states[device].dtype;
  mapTensors(args, device, (t) => {
    if (t.dtype !== to) to = WIDER[t.dtype] === 1 && WIDER[to] === 1 ? 'float32' : WIDER[t.dtype] > WIDER[to] ? t.dtype : to;
    return t;
  });
  return to;
}

/** The device of the first tensor among the arguments (PyTorch dispatches autocast on it), or null. */
function deviceOf(args: readonly unknown[]): AutocastDevice | null {
  for (const a of args) {
    const t = a instanceof Tensor ? a : Array.isArray(a) ? a.find((v) => v instanceof Tensor) : a !== null && typeof a === 'object' ? Object.values(a).find((v) => v instanceof Tensor) : undefined;
    if (t instanceof Tensor) return t.device === 'cpu' || t.device === 'webgpu' ? t.device : null;
  }
  return null;
}

/**
 * @internal Gives the op `name` its autocast policy: when autocast is on for the device of its
 * tensors and that device's table (`AUTOCAST_CPU_POLICY`, `AUTOCAST_WEBGPU_POLICY`) lists `name`, the
 * returned function casts its tensor arguments as the policy says and runs `fn` with that device's
 * autocast off, as PyTorch's autocast kernels do (the ops `fn` calls inside are not cast again).
 * @example
 * export const matmul = autocastOp('matmul', (a: Tensor, b: Tensor) => ...);
 */
export function autocastOp<A extends unknown[], R>(name: AutocastOp, fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    if (!states.cpu.enabled && !states.webgpu.enabled) return fn(...args);
    const device = deviceOf(args);
    const policy = device === null ? undefined : POLICIES[device][name];
    if (device === null || policy === undefined || !states[device].enabled) return fn(...args);
    const state = states[device];
    const dtype: DType = policy === 'lowerPrecision' ? state.dtype : policy === 'float32' ? 'float32' : promoted(args, device);
    const castOf = (t: Tensor) => (policy === 'float32' && t.dtype === 'float32' ? t : cachedCast(t, dtype, state));
    // Matmul's two operands: a float32 tensor with no graph (the batch) as a rounding view, no cast.
    const rounding: Tensor[] = [];
    const roundOrCast = (t: Tensor) => {
      const view = roundingOperand(t, dtype);
      if (view) rounding.push(view);
      return view ?? castOf(t);
    };
    const cast = (MATMUL_OPERANDS.has(name) ? args.map((a, i) => (!eligible(a, device) ? a : i < 2 ? roundOrCast(a) : castOf(a))) : mapTensors(args, device, castOf)) as A;
    states[device] = { ...state, enabled: false };
    try {
      return fn(...cast);
    } finally {
      states[device] = state;
      // The op's result never aliases its operands, and a node holds its own reference: releasing
      // the views now lets the batch go (and the node cast it) when its owner lets go, not at the
      // end of a scope (or never, outside every scope).
      for (const view of rounding) view._release();
    }
  };
}
