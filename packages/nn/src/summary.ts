import { noGrad, Tensor, zeros, type Device, type DType } from '@tsgrad/autograd';
import { checkOptionKeys, itemSize } from '@tsgrad/tensor';
import { Module } from './module.js';

/** One row of a model summary: a module and the parameters and buffers of its subtree. */
export interface SummaryRow {
  /** The module's path, as `namedModules()` names it (`''` for the model itself). */
  name: string;
  /** Its class name (`Linear`). */
  type: string;
  /** How deep in the tree (0 for the model). */
  depth: number;
  /** Parameter elements of the subtree (each shared parameter once). */
  params: number;
  /** Of those, the ones with `requiresGrad`. */
  trainableParams: number;
  /** Parameter elements the module holds itself, not through children. */
  ownParams: number;
  /** Buffer elements of the subtree (running statistics and the like). */
  buffers: number;
  /** The shape of the module's output in the forward of `inputShape` (null without one, or for a non-tensor output). */
  outputShape: number[] | null;
}

/** `summary`'s result: one row per module (`namedModules()` order), the totals, and the printed table. */
export interface ModelSummary {
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  totalBuffers: number;
  /** Bytes of parameters and buffers together, by their dtypes. */
  bytes: number;
  /** The table `torchinfo` prints: layers as a tree, output shapes, parameter counts, totals. */
  toString(): string;
}

/** `summary`'s options. */
export interface SummaryOptions {
  /**
   * Run one forward pass (eval mode, no grad) on `zeros(inputShape)` to record every module's output shape.
   * @defaultValue none (no forward pass: no output shapes)
   */
  inputShape?: number[];
  /**
   * The dtype of that input (default the model's first parameter's).
   * @defaultValue the model's first parameter's
   */
  dtype?: DType;
  /**
   * The device of that input (default the model's first parameter's).
   * @defaultValue the model's first parameter's
   */
  device?: Device;
}


/**
 * A model's summary, what `torchinfo.summary` reports: parameter counts per module and in total,
 * trainable vs frozen, buffers, and with `inputShape` each module's output shape. The result holds
 * the numbers; `String(result)` (or `console.log(result)`) prints the table.
 * @example
 * const s = summary(new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)), { inputShape: [1, 3] });
 * s.totalParams // 26
 * console.log(String(s));
 */
export function summary(model: Module, opts: SummaryOptions = {}): ModelSummary {
  checkOptionKeys('summary', opts, ['inputShape', 'dtype', 'device']);
  if (!(model instanceof Module)) throw new Error('summary: expected a Module as the first argument');
  const modules = model.namedModules();
  const shapes = opts.inputShape ? outputShapes(model, modules, opts) : new Map<Module, number[] | null>();
  const count = (ts: Tensor[]): number => ts.reduce((n, t) => n + t.numel(), 0);
  const rows: SummaryRow[] = modules.map(([name, m]) => {
    const params = unique(m.parameters());
    const own = unique(m.namedParameters().filter(([n]) => !n.includes('.')).map(([, p]) => p));
    return {
      name,
      type: m.constructor.name,
      depth: name === '' ? 0 : name.split('.').length,
      params: count(params),
      trainableParams: count(params.filter((p) => p.requiresGrad)),
      ownParams: count(own),
      buffers: count(unique(m.buffers())),
      outputShape: shapes.get(m) ?? null,
    };
  });
  const all = unique(model.parameters());
  const buffers = unique(model.buffers());
  const result: ModelSummary = {
    rows,
    totalParams: count(all),
    trainableParams: count(all.filter((p) => p.requiresGrad)),
    nonTrainableParams: count(all.filter((p) => !p.requiresGrad)),
    totalBuffers: count(buffers),
    bytes: [...all, ...buffers].reduce((n, t) => n + t.numel() * itemSize(t.dtype), 0),
    toString: () => formatSummary(result, opts.inputShape !== undefined),
  };
  Object.defineProperty(result, Symbol.for('nodejs.util.inspect.custom'), { value: () => result.toString(), enumerable: false });
  return result;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * One forward pass with every module's `forward` wrapped to record its output's shape, in eval mode
 * so that BatchNorm's running statistics stay as they are; the wrappers and the mode are restored.
 */
function outputShapes(model: Module, modules: [string, Module][], opts: SummaryOptions): Map<Module, number[] | null> {
  const shapes = new Map<Module, number[] | null>();
  const first = model.parameters()[0];
  const input = zeros(opts.inputShape!, { dtype: opts.dtype ?? first?.dtype, device: opts.device ?? first?.device });
  const modes = modules.map(([, m]) => m.training);
  const wrapped = modules.map(([, m]) => {
    const original = m.forward;
    const hadOwn = Object.prototype.hasOwnProperty.call(m, 'forward');
    m.forward = (...args: unknown[]) => {
      const out: unknown = original.apply(m, args);
      const t = Array.isArray(out) ? out[0] : out;
      shapes.set(m, t instanceof Tensor ? [...t.shape] : null);
      return out;
    };
    return () => {
      if (hadOwn) m.forward = original;
      else delete (m as { forward?: unknown }).forward;
    };
  });
  try {
    model.eval();
    noGrad(() => model.forward(input));
  } catch (e) {
    throw new Error(`summary: the forward pass on zeros of inputShape [${opts.inputShape!.join(', ')}] failed: ${(e as Error).message}`);
  } finally {
    wrapped.forEach((restore) => restore());
    modules.forEach(([, m], i) => (m.training = modes[i]));
  }
  return shapes;
}

/** torchinfo's layout: `Layer (type:depth-idx)`, output shape, `Param #`, then the totals. */
function formatSummary(s: ModelSummary, withShapes: boolean): string {
  const rule = '='.repeat(withShapes ? 90 : 64);
  const thin = rule.replace(/=/g, '-');
  const layer = (r: SummaryRow, idx: number): string => (r.depth === 0 ? r.type : `${'│ '.repeat(r.depth - 1)}├─${r.type}: ${r.depth}-${idx}`);
  const cols = (a: string, shape: string, params: string): string => (withShapes ? a.padEnd(40) + shape.padEnd(26) + params : a.padEnd(40) + params);
  const n = (x: number): string => x.toLocaleString('en-US');
  const counters = new Map<number, number>();
  const lines = [rule, cols('Layer (type:depth-idx)', 'Output Shape', 'Param #'), rule];
  for (const r of s.rows) {
    const idx = (counters.get(r.depth) ?? 0) + 1;
    counters.set(r.depth, idx);
    // As torchinfo: a module's own parameters; those of its children are on their rows.
    lines.push(cols(layer(r, idx), r.outputShape ? `[${r.outputShape.join(', ')}]` : '--', r.ownParams > 0 ? n(r.ownParams) : '--'));
  }
  lines.push(
    rule,
    `Total params: ${n(s.totalParams)}`,
    `Trainable params: ${n(s.trainableParams)}`,
    `Non-trainable params: ${n(s.nonTrainableParams)}`,
    `Buffers: ${n(s.totalBuffers)} elements`,
    thin,
    `Params and buffers size (MB): ${(s.bytes / 1e6).toFixed(2)}`,
    rule,
  );
  return lines.join('\n');
}
