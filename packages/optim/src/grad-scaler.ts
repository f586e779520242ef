import { full, noGrad, stack, Tensor, unscoped, type SparseTensor } from '@tsgrad/autograd';
import { checkOptionKeys, getBackend } from '@tsgrad/tensor';
import type { Optimizer } from './optimizer.js';

/** Options of `GradScaler` (PyTorch's `torch.amp.GradScaler` keywords, camelCased). */
export interface GradScalerOptions {
  /**
   * The scale the first `scale(loss)` multiplies by.
   * @defaultValue `2 ** 16`
   */
  initScale?: number;
  /**
   * What `update()` multiplies the scale by after `growthInterval` steps in a row without inf/NaN gradients (> 1).
   * @defaultValue `2`
   */
  growthFactor?: number;
  /**
   * What `update()` multiplies the scale by after a step with an inf/NaN gradient (< 1).
   * @defaultValue `0.5`
   */
  backoffFactor?: number;
  /**
   * How many consecutive steps without inf/NaN gradients grow the scale once.
   * @defaultValue `2000`
   */
  growthInterval?: number;
  /**
   * When false every method is a pass-through: `scale` returns the loss, `step` calls `optimizer.step()`.
   * @defaultValue `true`
   */
  enabled?: boolean;
}

/** `GradScaler`'s defaults, PyTorch's. */
export const GRAD_SCALER_DEFAULTS: Readonly<Required<GradScalerOptions>> = Object.freeze({
  initScale: 2 ** 16,
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 2000,
  enabled: true,
});

/**
 * What `GradScaler.scale` takes: a tensor, or arrays (any iterable) of them nested to any depth, as
 * PyTorch's `scale(outputs)` takes a tensor or iterables of tensors.
 */
export type ScaleOutputs = Tensor | readonly ScaleOutputs[] | Iterable<ScaleOutputs>;

/** PyTorch's serialized form (`GradScaler.state_dict()`), its keys verbatim; `{}` from a disabled scaler. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

const STATE_KEYS = ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'] as const;

/** Where one optimizer is in the current iteration (PyTorch's `OptState`). */
type Stage = 'ready' | 'unscaled' | 'stepped';

/**
 * One optimizer's iteration: its stage and, per device, the combined inf/NaN check of its gradients
 * (a 0-d float32 tensor, 0 when all are finite, NaN otherwise) until it is read, then the number read.
 */
interface OptimizerIteration {
  stage: Stage;
  found: Map<string, Tensor | number>;
}

/**
 * PyTorch's `_amp_update_scale_` (the CPU kernel of 2.x, AmpKernels.cpp): the scale is a float32 and
 * the factors doubles, so each product is taken in float64 and rounded to float32 once; growth that
 * would overflow float32 is dropped (the scale stays) but still resets the tracker.
 */
function ampUpdateScale(scale: number, tracker: number, foundInf: boolean, hyper: { growthFactor: number; backoffFactor: number; growthInterval: number }): [number, number] {
  if (foundInf) return [Math.fround(scale * hyper.backoffFactor), 0];
  const successful = tracker + 1;
  if (successful !== hyper.growthInterval) return [scale, successful];
  const grown = Math.fround(scale * hyper.growthFactor);
  return [Number.isFinite(grown) ? grown : scale, 0];
}

/**
 * Dynamic loss scaling for training in half precision (PyTorch 2.x's `torch.amp.GradScaler`):
 * `scale(loss)` multiplies the loss by the scale so small float16 gradients do not flush to zero;
 * `unscale_(optimizer)` divides the optimizer's gradients by it in place (multiplying by 1/scale
 * rounded to float32, as PyTorch) and records whether any is inf or NaN; `step(optimizer)` unscales if
 * that was not done and skips `optimizer.step()` when a gradient was not finite; `update()` halves the
 * scale after such a step (`backoffFactor`) and doubles it (`growthFactor`) after `growthInterval`
 * clean steps in a row.
 *
 * The scale lives as a float32 0-d tensor on the loss's device (what `scale` multiplies by). The
 * inf/NaN check of every gradient of one device is combined on that device into one scalar, and
 * `step` reads that scalar once per device: never a read per gradient. `step` reads synchronously
 * (the CPU); on WebGPU use `await scaler.stepAsync(optimizer)`.
 *
 * @example
 * const scaler = new GradScaler();
 * for (const [x, y] of batches) {
 *   opt.zeroGrad();
 *   scaler.scale(lossFn(model.forward(x), y)).backward();
 *   scaler.unscale_(opt);                  // the true gradients, so clipping sees their real norm
 *   clipGradNorm_(model.parameters(), 1.0);
 *   scaler.step(opt);                      // skipped when a gradient is inf or NaN
 *   scaler.update();                       // backs off or grows the scale
 * }
 */
export class GradScaler {
  private initScale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private readonly enabled: boolean;
  /** The tracker a lazily created state starts from (PyTorch's `_init_growth_tracker`; a loaded state dict sets it). */
  private initGrowthTracker = 0;
  /** The float32 scale once `scale()` has run (PyTorch creates `_scale` lazily on the loss's device); null before. */
  private scaleValue: number | null = null;
  private growthTracker = 0;
  /** The scale as a float32 0-d tensor on the device it was first used on. */
  private scaleTensor: Tensor | null = null;
  private iterations = new Map<Optimizer<{ lr: number }>, OptimizerIteration>();

  /**
   * Options as PyTorch's keywords; an unknown key is an Error naming the nearest option.
   * @example
   * const scaler = new GradScaler({ initScale: 1024, growthInterval: 100 });
   */
  constructor(options: GradScalerOptions = {}) {
    checkOptionKeys('GradScaler', options, Object.keys(GRAD_SCALER_DEFAULTS));
    const o = { ...GRAD_SCALER_DEFAULTS, ...options };
    if (typeof o.enabled !== 'boolean') throw new Error(`GradScaler: Invalid enabled: ${String(o.enabled)} (expected true or false)`);
    if (o.enabled) {
      // PyTorch asserts these only for an enabled scaler.
      if (typeof o.initScale !== 'number' || !(o.initScale > 0) || !Number.isFinite(o.initScale)) throw new Error(`GradScaler: Invalid initScale: ${String(o.initScale)} (expected a finite number > 0)`);
      if (typeof o.growthFactor !== 'number' || !(o.growthFactor > 1)) throw new Error(`GradScaler: Invalid growthFactor: ${String(o.growthFactor)} (the growth factor must be > 1.0)`);
      if (typeof o.backoffFactor !== 'number' || !(o.backoffFactor < 1) || !(o.backoffFactor > 0)) throw new Error(`GradScaler: Invalid backoffFactor: ${String(o.backoffFactor)} (the backoff factor must be in (0, 1))`);
      checkInterval(o.growthInterval);
    }
    this.initScale = o.initScale;
    this.growthFactor = o.growthFactor;
    this.backoffFactor = o.backoffFactor;
    this.growthInterval = o.growthInterval;
    this.enabled = o.enabled;
  }

  /**
   * `outputs` times the scale (`outputs` itself when disabled): a tensor (the loss), or arrays of tensors
   * nested to any depth (several losses), returned in the same structure with each tensor scaled, as
   * PyTorch's `scale(outputs)`; another iterable (a Set, a generator) comes back as an array (PyTorch
   * returns a lazy `map` there). The first tensor creates the scale, a float32 0-d tensor on its
   * device; tensors on other devices get one copy of it per device. Anything else among the outputs
   * (a number, a string, null) is an Error naming where it is.
   * @example
   * scaler.scale(loss).backward(); // gradients of scale × loss
   * const [a, [b]] = scaler.scale([lossA, [lossB]]); // each times the scale
   */
  scale(outputs: Tensor): Tensor;
  scale<T extends readonly ScaleOutputs[]>(outputs: T): T;
  scale(outputs: Iterable<ScaleOutputs>): ScaleOutputs[];
  scale(outputs: ScaleOutputs): ScaleOutputs;
  scale(outputs: ScaleOutputs): ScaleOutputs {
    if (!this.enabled) return outputs;
    // One replica of the scale per device, made on first use (PyTorch's _MultiDeviceReplicator).
    const replicas = new Map<string, Tensor>();
    const apply = (value: unknown, where: string): ScaleOutputs => {
      if (value instanceof Tensor) {
        if (this.scaleTensor === null) this.setScale(Math.fround(this.initScale), value.device, this.initGrowthTracker);
        let s = replicas.get(value.device);
        if (s === undefined) replicas.set(value.device, (s = this.scaleTensor!.device === value.device ? this.scaleTensor! : this.scaleTensor!.to(value.device)));
        return value.mul(s);
      }
      if (Array.isArray(value)) return value.map((v, i) => apply(v, `${where}[${i}]`));
      if (isIterable(value)) return Array.from(value, (v, i) => apply(v, `${where}[${i}]`));
      throw new Error(`GradScaler.scale: ${where} is ${describeValue(value)}; outputs must be a Tensor or an iterable of Tensors`);
    };
    return apply(outputs, 'outputs');
  }

  /**
   * Divides `optimizer`'s gradients by the scale in place (multiplies by 1/scale rounded to float32) and
   * records, per device, whether any is inf or NaN (on the device: nothing is read here). Call it once
   * per optimizer between `backward()` and `step()`, e.g. before clipping; a second call before
   * `update()`, or a call after `step()`, is an Error, as in PyTorch. A sparse gradient
   * (`Embedding({ sparse: true })`) is unscaled and checked through its values, duplicate rows as
   * they are (PyTorch coalesces only float16 ones, which public `unscale_` refuses anyway).
   * @example
   * scaler.scale(loss).backward();
   * scaler.unscale_(opt);
   * clipGradNorm_(model.parameters(), 1.0);
   */
  unscale_(optimizer: Optimizer<{ lr: number }>): void {
    if (!this.enabled) return;
    const scale = this.checkScale('unscale_');
    const it = this.iteration(optimizer);
    if (it.stage === 'unscaled') throw new Error('GradScaler.unscale_: unscale_() has already been called on this optimizer since the last update()');
    if (it.stage === 'stepped') throw new Error('GradScaler.unscale_: unscale_() is being called after step()');
    // PyTorch's inv_scale = scale.double().reciprocal().float().
    const invScale = Math.fround(1 / scale);
    const byDevice = this.gradsToUnscale(optimizer, false);
    noGrad(() =>
      unscoped(() => {
        for (const [device, grads] of byDevice) {
          // 0 · g is 0 where g is finite and NaN where it is inf or NaN, so each sum is a finite check
          // and the sum of the sums is the device's: one scalar, read once by step().
          const checks = grads.map((g) => g.mul(0).sum().to('float32'));
          it.found.set(device, checks.length === 1 ? checks[0] : stack(checks).sum());
          // PyTorch's kernel leaves the values when inv_scale is 1 and otherwise multiplies in the grad's
          // opmath: a half gradient by the float32 inv_scale, rounded once (mul by a number does so).
          if (invScale !== 1) for (const g of grads) g.mul_(invScale);
        }
      }),
    );
    it.stage = 'unscaled';
  }

  /**
   * Unscales `optimizer`'s gradients if `unscale_` was not called, then runs `optimizer.step()` unless a
   * gradient was inf or NaN, and returns what it returned (`undefined` for a skipped step). Reads one
   * scalar per device, synchronously (the CPU); on WebGPU use `stepAsync`. Disabled, it is `optimizer.step(closure)`.
   * @example
   * scaler.scale(loss).backward();
   * scaler.step(opt); // skipped if any gradient overflowed
   * scaler.update();
   */
  step(optimizer: Optimizer<{ lr: number }>, closure?: () => Tensor | number): Tensor | number | undefined {
    if (!this.enabled) return optimizer.step(closure);
    // Before anything is unscaled, so that a refused call changes nothing.
    for (const group of optimizer.paramGroups) {
      for (const p of group.params) {
        if (p.grad !== null && !getBackend(p.grad.device).readSync) {
          throw new Error(`GradScaler.step reads the inf check synchronously, which ${p.grad.device} cannot give; use await scaler.stepAsync(optimizer)`);
        }
      }
    }
    const it = this.beforeStep(optimizer, closure, 'step');
    for (const [device, found] of it.found) if (typeof found !== 'number') it.found.set(device, readFound(found, found.item()));
    return this.finishStep(optimizer, it);
  }

  /**
   * `step` on any device, WebGPU included: the inf check of each device is read with one `await`.
   * @example
   * scaler.scale(loss).backward();
   * await scaler.stepAsync(opt);
   * scaler.update();
   */
  async stepAsync(optimizer: Optimizer<{ lr: number }>): Promise<Tensor | number | undefined> {
    if (!this.enabled) return optimizer.step();
    const it = this.beforeStep(optimizer, undefined, 'stepAsync');
    for (const [device, found] of it.found) {
      if (typeof found !== 'number') it.found.set(device, readFound(found, (await found.data())[0]));
    }
    return this.finishStep(optimizer, it);
  }

  /**
   * Updates the scale for the next iteration, `_amp_update_scale_`: after a step with an inf/NaN
   * gradient (in any optimizer since the last update) scale × backoffFactor and the growth tracker to 0;
   * otherwise the tracker counts the clean step, and when it reaches `growthInterval` the scale grows
   * by `growthFactor` (unless that overflows float32) and the tracker restarts. `newScale` sets the
   * scale instead. Call it once per iteration, after every `step`.
   * @example
   * scaler.step(opt);
   * scaler.update();      // dynamic
   * scaler.update(1024);  // or a scale of your choosing
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    const scale = this.checkScale('update');
    if (newScale !== undefined) {
      this.setScale(Math.fround(newScaleValue(newScale)), this.scaleTensor!.device, this.growthTracker);
    } else {
      let foundInf = 0;
      let recorded = 0;
      for (const it of this.iterations.values()) {
        for (const [device, found] of it.found) {
          if (typeof found !== 'number' && !getBackend(device).readSync) {
            throw new Error(`GradScaler.update: the inf check on ${device} was recorded by unscale_ but not read; call await scaler.stepAsync(optimizer) before update()`);
          }
          foundInf += typeof found === 'number' ? found : readFound(found, found.item());
          recorded++;
        }
      }
      if (recorded === 0) throw new Error('GradScaler.update: No inf checks were recorded prior to update(); call scaler.step(optimizer) (or unscale_) first');
      const [next, tracker] = ampUpdateScale(scale, this.growthTracker, foundInf !== 0, { growthFactor: this.growthFactor, backoffFactor: this.backoffFactor, growthInterval: this.growthInterval });
      this.setScale(next, this.scaleTensor!.device, tracker);
    }
    this.iterations = new Map();
  }

  /**
   * The current scale as a number: `initScale` before the first `scale()`, 1 when disabled.
   * @example new GradScaler().getScale() // 65536
   */
  getScale(): number {
    if (!this.enabled) return 1;
    return this.scaleValue ?? this.initScale;
  }

  /**
   * The growth factor.
   * @example new GradScaler().getGrowthFactor() // 2
   */
  getGrowthFactor(): number {
    return this.growthFactor;
  }

  /**
   * Sets the growth factor (read by the next `update`).
   * @example scaler.setGrowthFactor(4);
   */
  setGrowthFactor(newFactor: number): void {
    this.growthFactor = newFactor;
  }

  /**
   * The backoff factor.
   * @example new GradScaler().getBackoffFactor() // 0.5
   */
  getBackoffFactor(): number {
    return this.backoffFactor;
  }

  /**
   * Sets the backoff factor (read by the next `update`).
   * @example scaler.setBackoffFactor(0.25);
   */
  setBackoffFactor(newFactor: number): void {
    this.backoffFactor = newFactor;
  }

  /**
   * The growth interval.
   * @example new GradScaler().getGrowthInterval() // 2000
   */
  getGrowthInterval(): number {
    return this.growthInterval;
  }

  /**
   * Sets the growth interval (read by the next `update`).
   * @example scaler.setGrowthInterval(100);
   */
  setGrowthInterval(newInterval: number): void {
    checkInterval(newInterval);
    this.growthInterval = newInterval;
  }

  /**
   * Whether the scaler scales (the `enabled` option).
   * @example new GradScaler({ enabled: false }).isEnabled() // false
   */
  isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * The state in PyTorch's form and keys (`scale`, `growth_factor`, `backoff_factor`,
   * `growth_interval`, `_growth_tracker`), so it loads into `torch.amp.GradScaler`; `{}` when disabled.
   * @example
   * const sd = scaler.stateDict(); // { scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 }
   */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.scaleValue === null ? this.initGrowthTracker : this.growthTracker,
    };
  }

  /**
   * Loads a state dict (ours or PyTorch's `GradScaler.state_dict()`); a no-op when disabled. An empty
   * dict (from a disabled scaler) or a missing key is an Error naming it.
   * @example
   * scaler.loadStateDict({ scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 7 });
   */
  loadStateDict(stateDict: GradScalerStateDict | Record<string, never>): void {
    if (!this.enabled) return;
    if (Object.keys(stateDict).length === 0) {
      throw new Error('GradScaler.loadStateDict: The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler');
    }
    const sd = stateDict as Record<string, unknown>;
    for (const key of STATE_KEYS) {
      if (typeof sd[key] !== 'number') throw new Error(`GradScaler.loadStateDict: key '${key}' is ${key in sd ? `not a number (${String(sd[key])})` : 'missing'}`);
    }
    const s = stateDict as GradScalerStateDict;
    checkInterval(s.growth_interval);
    this.initScale = s.scale;
    this.growthFactor = s.growth_factor;
    this.backoffFactor = s.backoff_factor;
    this.growthInterval = s.growth_interval;
    this.initGrowthTracker = s._growth_tracker;
    // PyTorch fills the existing tensors; before the first scale() they are created from these values.
    if (this.scaleTensor !== null) this.setScale(Math.fround(s.scale), this.scaleTensor.device, s._growth_tracker);
  }

  /**
   * PyTorch's `_unscale_grads_` before its kernel: each gradient of `optimizer` to unscale, by device.
   * A float16 gradient is refused unless `allowFp16` (public `unscale_` never allows it; PyTorch's
   * sharded scaler does). A sparse gradient is unscaled through its values (`_values()`); a float16
   * one is coalesced first, summing duplicate rows in float32 and rounding once to float16 (PyTorch
   * 2.x: `grad.type(float32).coalesce().type(float16)`), so that duplicates whose scaled sum
   * overflows float16 show up as inf in the check rather than only after the optimizer adds them.
   */
  private gradsToUnscale(optimizer: Optimizer<{ lr: number }>, allowFp16: boolean): Map<string, Tensor[]> {
    const byDevice = new Map<string, Tensor[]>();
    optimizer.paramGroups.forEach((group, gi) =>
      group.params.forEach((p, pi) => {
        let g = p.grad;
        if (g === null) return;
        // PyTorch's ValueError: fp16 gradients must not be unscaled in place (their master copy is float32).
        if (!allowFp16 && g.dtype === 'float16') throw new Error(`GradScaler.unscale_: Attempting to unscale FP16 gradients (param group ${gi}, params[${pi}])`);
        if (g.isSparse) {
          if (g.dtype === 'float16') p.grad = g = (g as SparseTensor).to('float32').coalesce().to('float16');
          g = (g as SparseTensor).values();
        }
        const list = byDevice.get(g.device) ?? [];
        list.push(g);
        byDevice.set(g.device, list);
      }),
    );
    return byDevice;
  }

  /** PyTorch's `_check_scale_growth_tracker`: the scale exists once `scale()` has run. */
  private checkScale(method: string): number {
    if (this.scaleValue === null) {
      throw new Error(`GradScaler.${method}: attempted ${method} but the scale does not exist yet; call scaler.scale(loss) earlier in the iteration`);
    }
    return this.scaleValue;
  }

  private iteration(optimizer: Optimizer<{ lr: number }>): OptimizerIteration {
    let it = this.iterations.get(optimizer);
    if (!it) this.iterations.set(optimizer, (it = { stage: 'ready', found: new Map() }));
    return it;
  }

  /** The checks `step` and `stepAsync` share before reading the inf checks. */
  private beforeStep(optimizer: Optimizer<{ lr: number }>, closure: unknown, method: string): OptimizerIteration {
    if (closure !== undefined) throw new Error(`GradScaler.${method}: Closure use is not currently supported if GradScaler is enabled`);
    this.checkScale(method);
    const it = this.iteration(optimizer);
    if (it.stage === 'stepped') throw new Error(`GradScaler.${method}: step() has already been called since the last update()`);
    if (it.stage === 'ready') this.unscale_(optimizer);
    if (it.found.size === 0) throw new Error(`GradScaler.${method}: No inf checks were recorded for this optimizer (no parameter has a gradient)`);
    return it;
  }

  private finishStep(optimizer: Optimizer<{ lr: number }>, it: OptimizerIteration): Tensor | number | undefined {
    let foundInf = 0;
    for (const found of it.found.values()) foundInf += found as number;
    const result = foundInf === 0 ? optimizer.step() : undefined;
    it.stage = 'stepped';
    return result;
  }

  /** Sets the scale (rounded to float32 already) and tracker, replacing the scale tensor on `device`. */
  private setScale(value: number, device: string, tracker: number): void {
    this.scaleValue = value;
    this.growthTracker = tracker;
    this.scaleTensor?.dispose();
    // The scale outlives any scope() around a training step.
    this.scaleTensor = unscoped(() => full([], value, { dtype: 'float32', device: device as Tensor['device'] }));
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** How a misplaced output reads in an Error: its type, and a number's or string's value. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  if (typeof value === 'string') return `a string ('${value}')`;
  return typeof value === 'object' ? `an object (${value.constructor?.name ?? 'Object'})` : `a ${typeof value}`;
}

/** A read inf check as PyTorch's found_inf: 1 if the combined sum is NaN, else 0; the tensor is freed. */
function readFound(check: Tensor, value: number): number {
  check.dispose();
  return Number.isNaN(value) ? 1 : 0;
}

function checkInterval(value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`GradScaler: Invalid growthInterval: ${String(value)} (expected an integer >= 1)`);
}

/** `update(newScale)`'s value: a number, or a 1-element tensor without grad read on the CPU (PyTorch's asserts). */
function newScaleValue(newScale: number | Tensor): number {
  if (typeof newScale === 'number') return newScale;
  const reason = 'newScale should be a number or a 1-element tensor with requiresGrad false';
  if (!(newScale instanceof Tensor) || newScale.numel() !== 1 || newScale.requiresGrad) throw new Error(`GradScaler.update: ${reason}`);
  if (!getBackend(newScale.device).readSync) throw new Error(`GradScaler.update: newScale on ${newScale.device} cannot be read synchronously; pass a number`);
  return newScale.item();
}
