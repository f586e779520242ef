import type { View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import type { ElementwiseProgram, ProgramItem } from '../program.js';
import { BUILTIN_FNS } from '../expr/builtins.js';
import { INTERPRETER, jsDialect, walk, type Env } from '../expr/walk.js';
import { codegenAllowed } from './codegen.js';
import { isContiguous, numel } from '../shape.js';
import { runNativeProgram } from './wasm/program.js';

/**
 * The CPU backend's renderer of elementwise programs: each program becomes one JavaScript loop,
 * compiled once (`new Function`) and cached by the program's key, arithmetic in float64 with every
 * stream write stored into its typed array (float32 rounds there, as PyTorch's float32 step does).
 * Where `new Function` is forbidden (a Content-Security-Policy without 'unsafe-eval'), the same tree
 * is run by a closure interpreter: the same operations in the same order, so the same bits, slower.
 * A program that names a native kernel runs it in WebAssembly SIMD for float32 when available.
 */
type Loop = (n: number, arrays: TypedArray[], scalars: number[], rows?: RowPlan) => void;

/** A row-sparse run: visit rows `index`, `width` elements each; `compact` streams are indexed by `c`. */
interface RowPlan {
  index: Int32Array;
  width: number;
}

/**
 * The JavaScript source of a program's loop (exported for tests and for the curious); with `compact`
 * streams, the row-sparse loop (see `ProgramItem.rows`).
 * @example
 * renderJs(defineProgram({ name: 'axpy', read: ['x'], write: ['y'], scalars: ['a'], body: 'y = y + a * x' }))
 * // the loop body the CPU backend compiles, as JavaScript source
 */
export function renderJs(program: ElementwiseProgram, compact: ReadonlySet<string> = new Set()): string {
  const streams = [...program.read, ...program.write];
  const at = (name: string) => `a_${name}[${compact.has(name) ? 'c' : 'i'}]`;
  const d = jsDialect((kind, name) => (kind === 'stream' ? at(name) : kind === 'scalar' ? `k_${name}` : `v_${name}`));
  const body = program.statements.map((st) => (st.local ? `const v_${st.target} = ${walk(st.e, d)};` : `${at(st.target)} = ${walk(st.e, d)};`));
  const loop =
    compact.size === 0
      ? [`for (let i = 0; i < n; i++) {`, ...body.map((l) => `  ${l}`), `}`]
      : [
          `const index = rows.index, width = rows.width;`,
          `for (let r = 0, c = 0; r < index.length; r++) {`,
          `  for (let i = index[r] * width, end = i + width; i < end; i++, c++) {`,
          ...body.map((l) => `    ${l}`),
          `  }`,
          `}`,
        ];
  return [...streams.map((s, k) => `const a_${s} = arrays[${k}];`), ...program.scalars.map((s, k) => `const k_${s} = scalars[${k}];`), ...loop].join('\n');
}

/** The closure interpreter: the same tree, the same operations in the same order. */
function interpret(program: ElementwiseProgram, compact: ReadonlySet<string>): Loop {
  const streams = [...program.read, ...program.write];
  const statements = program.statements.map((st) => ({ ...st, run: walk(st.e, INTERPRETER) }));
  return (n, arrays, scalars, rows) => {
    const array = new Map(streams.map((s, k) => [s, arrays[k]]));
    const scalar = new Map(program.scalars.map((s, k) => [s, scalars[k]]));
    const locals = new Map<string, number>();
    let i = 0;
    let c = 0;
    const at = (name: string) => (compact.has(name) ? c : i);
    const env: Env = (kind, name) => (kind === 'stream' ? array.get(name)![at(name)] : kind === 'scalar' ? scalar.get(name)! : locals.get(name)!);
    const visit = () => {
      for (const st of statements) {
        const v = st.run(env);
        if (st.local) locals.set(st.target, v);
        else array.get(st.target)![at(st.target)] = v;
      }
    };
    if (!rows) {
      for (i = 0; i < n; i++) visit();
      return;
    }
    c = 0;
    for (const row of rows.index) for (i = row * rows.width; i < (row + 1) * rows.width; i++, c++) visit();
  };
}

const compiled = new Map<string, Loop>();

function loopFor(program: ElementwiseProgram, compact: ReadonlySet<string>): Loop {
  const key = `${codegenAllowed() ? 'js' : 'interp'}\n${[...compact].join(',')}\n${program.key}`;
  let loop = compiled.get(key);
  if (!loop) {
    loop = codegenAllowed() ? (new Function('F', `return (n, arrays, scalars, rows) => {\n${renderJs(program, compact)}\n};`) as (f: typeof BUILTIN_FNS) => Loop)(BUILTIN_FNS) : interpret(program, compact);
    compiled.set(key, loop);
  }
  return loop;
}

/**
 * Runs `program` over every item (one tensor's streams each). Returns false when a view is not
 * contiguous (the caller runs it on contiguous copies); throws on mismatched sizes or dtypes.
 */
export function runProgramKernel(program: ElementwiseProgram, items: readonly ProgramItem<View>[], data: (v: View) => TypedArray): boolean {
  const names = [...program.read, ...program.write];
  for (const item of items) {
    for (const s of names) {
      const v = item.streams[s];
      if (!v) throw new Error(`program ${program.name}: stream '${s}' is missing`);
      if (!isContiguous(v.shape, v.strides)) return false;
    }
  }
  for (const item of items) {
    const compact = new Set(item.rows?.compact ?? []);
    const full = names.find((s) => !compact.has(s)) ?? names[0];
    const first = item.streams[full];
    const n = numel(first.shape);
    const rows = item.rows ? rowPlan(program, item.rows, n, data) : undefined;
    const arrays = names.map((s) => {
      const v = item.streams[s];
      const expected = compact.has(s) ? rows!.index.length * rows!.width : n;
      if (numel(v.shape) !== expected || v.dtype !== first.dtype) {
        throw new Error(`program ${program.name}: stream '${s}' has ${numel(v.shape)} ${v.dtype} elements, expected ${expected} ${first.dtype}`);
      }
      const d = data(v);
      return v.offset === 0 && d.length === expected ? d : d.subarray(v.offset, v.offset + expected);
    });
    const scalars = program.scalars.map((s) => {
      const value = item.scalars[s];
      if (typeof value !== 'number') throw new Error(`program ${program.name}: scalar '${s}' is missing`);
      return value;
    });
    if (!rows && program.native && first.dtype === 'float32' && runNativeProgram(program, names, arrays, item.scalars)) continue;
    loopFor(program, compact)(n, arrays, scalars, rows);
  }
  return true;
}

/** Checks a row-sparse item's rows against the full tensors' size; they are visited in the given order. */
function rowPlan(program: ElementwiseProgram, rows: NonNullable<ProgramItem<View>['rows']>, n: number, data: (v: View) => TypedArray): RowPlan {
  const { width } = rows;
  if (rows.index.dtype !== 'int32' || rows.index.shape.length !== 1) throw new Error(`program ${program.name}: row index must be a 1-D int32 tensor`);
  const raw = data(rows.index);
  const index = Int32Array.from({ length: rows.index.shape[0] }, (_, k) => raw[rows.index.offset + k * rows.index.strides[0]]);
  const count = width > 0 ? n / width : 0;
  const bad = index.findIndex((r) => r < 0 || r >= count);
  if (bad >= 0) throw new Error(`program ${program.name}: row ${index[bad]} is out of range for ${count} rows`);
  return { index, width };
}
