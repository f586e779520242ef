import { checkNoInternalOverlap, getBackend, type ElementwiseProgram, type ProgramItem, type View } from '@tsgrad/tensor';
import type { Tensor } from '@tsgrad/autograd';

/** One parameter's part of a step: its program, the tensors bound to the program's streams, its scalars. @internal */
export interface ProgramPart {
  program: ElementwiseProgram;
  /** `p` is the parameter (updated in place), `g` its gradient, the rest state tensors. */
  streams: Record<string, Tensor>;
  scalars: Record<string, number>;
  /** A sparse gradient's step: only rows `index` move; `compact` streams hold just those rows. */
  rows?: { index: Tensor; width: number; compact: readonly string[] };
}

/**
 * A cache of program variants: `build(flags)` runs once per distinct flags, so a program object is
 * shared by every step that needs the same variant (and backends cache its compiled form by key).
 * @example
 * const axpy = programVariants((f: { negate: boolean }) =>
 *   defineProgram({ name: 'axpy', read: ['x'], write: ['y'], scalars: ['a'], body: f.negate ? 'y = y - a * x' : 'y = y + a * x' }),
 * );
 * axpy({ negate: true }) === axpy({ negate: true }) // true: built once
 * @internal
 */
export function programVariants<F extends object>(build: (flags: F) => ElementwiseProgram): (flags: F) => ElementwiseProgram {
  const cache = new Map<string, ElementwiseProgram>();
  return (flags) => {
    const key = JSON.stringify(flags);
    let program = cache.get(key);
    if (!program) {
      program = build(flags);
      cache.set(key, program);
    }
    return program;
  };
}

/**
 * Runs a step's parts: one backend call per (device, program variant), with every parameter of that
 * bucket in it (PyTorch's multi-tensor `foreach` path), so a step of a group costs a few dispatches, not
 * one per tensor. Non-contiguous parameters are updated through contiguous copies; every parameter's
 * version is bumped, as after an in-place op.
 * @example
 * // Inside an optimizer's step: one call for every parameter that has a gradient.
 * const plainSgd = defineProgram({ name: 'plain-sgd', read: ['g'], write: ['p'], scalars: ['lr'], body: 'p = p - lr * g' });
 * runProgramParts(params.map((p) => ({ program: plainSgd, streams: { p, g: p.grad! }, scalars: { lr: 0.1 } })));
 * @internal
 */
export function runProgramParts(parts: readonly ProgramPart[]): void {
  const buckets = new Map<string, { program: ElementwiseProgram; device: string; parts: ProgramPart[] }>();
  for (const part of parts) {
    const device = part.streams.p.device;
    const key = `${device}\n${part.program.key}`;
    let bucket = buckets.get(key);
    if (!bucket) buckets.set(key, (bucket = { program: part.program, device, parts: [] }));
    bucket.parts.push(part);
  }
  for (const { program, device, parts: bucket } of buckets.values()) {
    const backend = getBackend(device);
    const writeBack: [Tensor, Tensor][] = [];
    const items: ProgramItem<View>[] = bucket.map(({ streams, scalars, rows }) => {
      const views: Record<string, View> = {};
      for (const [name, t] of Object.entries(streams)) {
        if (t.device !== device) throw new Error(`${program.name}: '${name}' is on ${t.device}, the parameter on ${device}; keep a parameter, its gradient and its state on one device`);
        if (program.write.includes(name)) checkNoInternalOverlap(`${program.name}: '${name}'`, t.shape, t.stride());
        let target = t;
        if (!t.isContiguous()) {
          target = t.contiguous();
          if (program.write.includes(name)) writeBack.push([t, target]);
        }
        views[name] = target.toView();
      }
      return { streams: views, scalars, ...(rows ? { rows: { index: rows.index.contiguous().toView(), width: rows.width, compact: rows.compact } } : {}) };
    });
    if (!backend.runProgram(program, items)) throw new Error(`${program.name}: device '${device}' could not run the step on contiguous tensors`);
    for (const [t, copy] of writeBack) t.copy_(copy);
    for (const part of bucket) part.streams.p.markDirty();
  }
}
