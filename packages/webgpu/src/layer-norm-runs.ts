/// <reference types="@webgpu/types" preserve="true" />
/**
 * Layer normalization's dispatches (the backend's `layerNorm` and `layerNormBackward`) for the
 * kernels of shaders/layer-norm.ts: checks, metadata, bindings and workgroup counts. An input past
 * one binding runs in blocks of whole rows (the weight and bias gradients summed over the blocks'
 * partial sums); a single row past it is the limit Error.
 */
import { type LayerNormInputs, type LayerNormNeeds, type LayerNormSaved, type ReduceOp, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import {
  layerNormForwardBindings,
  layerNormForwardShader,
  layerNormInputGradBindings,
  layerNormInputGradShader,
  layerNormMeta,
  layerNormParamGradBindings,
  layerNormParamGradShader,
} from './shaders/layer-norm.js';

/** What the runs need of the backend. */
export interface LayerNormOps {
  readonly recorder: Recorder;
  readonly bindings: Bindings;
  fresh(dtype: 'float32', shape: readonly number[]): View;
  free(storage: Storage): void;
  full(size: number, value: number, dtype: 'float32'): Storage;
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;
}

/** Rows [first, first + count) of a contiguous [rows, n] (or [rows]) view. */
function rowsOf(v: View, first: number, count: number): View {
  const n = v.shape.length === 2 ? v.shape[1] : 1;
  const shape = v.shape.length === 2 ? [count, n] : [count];
  return { ...v, shape, offset: v.offset + first * n };
}

type Window = { binding: GPUBufferBinding; offset: number };

/** The windows' bindings in a kernel's binding order (`names`, as the shader declares them: 'name' or 'name:rw'). */
function inOrder(names: readonly string[], windows: Record<string, Window | null>): GPUBufferBinding[] {
  return names.map((n) => {
    const w = windows[n.split(':')[0]];
    if (!w) throw new Error(`webgpu: internal: layer norm kernel binding ${n} has no operand`);
    return w.binding;
  });
}

export class LayerNormRuns {
  constructor(private readonly ops: LayerNormOps) {}

  forward(inputs: LayerNormInputs, eps: number): { output: Storage; mean: Storage; rstd: Storage } {
    const [rows, n] = this.check('layerNorm', inputs);
    const { recorder, bindings } = this.ops;
    // Before any allocation: a row past the limit throws without leaving buffers behind.
    const blocks = this.blocks('layerNorm', inputs.x);
    const y = this.ops.fresh('float32', [rows, n]);
    if (rows === 0 || n === 0) {
      // No elements: an empty output; a row of none has mean 0/0 (NaN), as the CPU's kernel gives.
      return { output: y.storage, mean: this.ops.full(rows, NaN, 'float32'), rstd: this.ops.full(rows, NaN, 'float32') };
    }
    const mean = this.ops.fresh('float32', [rows]);
    const rstd = this.ops.fresh('float32', [rows]);
    const [w, b] = [inputs.weight, inputs.bias].map((p) => (p ? bindings.window(p) : null));
    const code = layerNormForwardShader(w !== null, b !== null);
    const epsBits = new Uint32Array(Float32Array.of(eps).buffer)[0];
    for (const [first, count] of blocks) {
      const [x, out, m, r] = [inputs.x, y, mean, rstd].map((v) => bindings.window(rowsOf(v, first, count)));
      const meta = layerNormMeta({ rows: count, n, eps: epsBits, x: x.offset, y: out.offset, mean: m.offset, rstd: r.offset, w: w?.offset, b: b?.offset });
      const buffers = inOrder(layerNormForwardBindings(w !== null, b !== null), { x, w, b, y: out, mean: m, rstd: r });
      recorder.dispatch('layerNorm', code, buffers, meta, recorder.groups(count, 1));
    }
    return { output: y.storage, mean: mean.storage, rstd: rstd.storage };
  }

  backward(inputs: LayerNormInputs, saved: LayerNormSaved, needs: LayerNormNeeds): { input: Storage | null; weight: Storage | null; bias: Storage | null } {
    const [rows, n] = this.check('layerNormBackward', inputs, saved);
    const { recorder, bindings } = this.ops;
    const wantW = needs.weight && inputs.weight !== null;
    const wantB = needs.bias && inputs.bias !== null;
    const blocks = this.blocks('layerNormBackward', inputs.x);
    const dx = needs.input ? this.ops.fresh('float32', [rows, n]) : null;
    if (rows === 0 || n === 0) {
      // No rows: the sums over them are 0.
      const zeros = (want: boolean) => (want ? this.ops.full(n, 0, 'float32') : null);
      return { input: dx?.storage ?? null, weight: zeros(wantW), bias: zeros(wantB) };
    }
    // One block: the weight and bias gradients directly; several: each block's partial sums in a row
    // of [blocks, n], summed over the blocks once all have run.
    const sums = (want: boolean) => (want ? this.ops.fresh('float32', blocks.length === 1 ? [n] : [blocks.length, n]) : null);
    const [dw, db] = [sums(wantW), sums(wantB)];
    const w = inputs.weight ? bindings.window(inputs.weight) : null;
    blocks.forEach(([first, count], k) => {
      const [x, g, m, r] = [inputs.x, saved.gradOutput, saved.mean, saved.rstd].map((v) => bindings.window(rowsOf(v, first, count)));
      if (dx) {
        const out = bindings.window(rowsOf(dx, first, count));
        const meta = layerNormMeta({ rows: count, n, x: x.offset, g: g.offset, mean: m.offset, rstd: r.offset, w: w?.offset, dx: out.offset });
        const buffers = inOrder(layerNormInputGradBindings(w !== null), { x, g, mean: m, rstd: r, w, dx: out });
        recorder.dispatch('layerNorm backward', layerNormInputGradShader(w !== null), buffers, meta, recorder.groups(count, 1));
      }
      if (dw || db) {
        const [pw, pb] = [dw, db].map((s) => (s ? bindings.window(blocks.length === 1 ? s : rowsOf(s, k, 1)) : null));
        const meta = layerNormMeta({ rows: count, n, x: x.offset, g: g.offset, mean: m.offset, rstd: r.offset, dw: pw?.offset, db: pb?.offset });
        const buffers = inOrder(layerNormParamGradBindings(pw !== null, pb !== null), { x, g, mean: m, rstd: r, dw: pw, db: pb });
        recorder.dispatch('layerNorm backward', layerNormParamGradShader(pw !== null, pb !== null), buffers, meta, recorder.groups(n, 1));
      }
    });
    const total = (s: View | null) => {
      if (!s || blocks.length === 1) return s?.storage ?? null;
      const summed = this.ops.reduce('sum', s, [0]);
      this.ops.free(s.storage);
      return summed;
    };
    return { input: dx?.storage ?? null, weight: total(dw), bias: total(db) };
  }

  /** [rows, n] after checking what the kernels assume: float32 operands of matching shapes, contiguous rows. */
  private check(who: string, { x, weight, bias }: LayerNormInputs, saved?: LayerNormSaved): [number, number] {
    if (x.shape.length !== 2) throw new Error(`webgpu: ${who} needs x as [rows, n], got shape [${x.shape.join(', ')}]`);
    const [rows, n] = x.shape;
    const views: [string, View | null, number[]][] = [
      ['x', x, [rows, n]],
      ['weight', weight, [n]],
      ['bias', bias, [n]],
      ['mean', saved?.mean ?? null, [rows]],
      ['rstd', saved?.rstd ?? null, [rows]],
      ['gradOutput', saved?.gradOutput ?? null, [rows, n]],
    ];
    for (const [name, v, shape] of views) {
      if (v === null) continue;
      if (v.dtype !== 'float32') throw new Error(`webgpu: ${who} computes in float32, got ${name} of dtype ${v.dtype} (F.layerNorm casts half inputs)`);
      const contiguous = v.shape.length === shape.length && v.shape.every((d, i) => d === shape[i]) && v.strides.every((s, i) => s === (i === shape.length - 1 ? 1 : shape[shape.length - 1]) || v.shape[i] === 1);
      if (!contiguous) throw new Error(`webgpu: ${who} needs ${name} of shape [${shape.join(', ')}] with contiguous rows, got shape [${v.shape.join(', ')}] with strides [${v.strides.join(', ')}]`);
    }
    return [rows, n];
  }

  /** [first row, rows] blocks of x, each within one binding (one block unless x is past the limit). */
  private blocks(who: string, x: View): [number, number][] {
    const [rows, n] = x.shape;
    const { bindings } = this.ops;
    if (rows === 0 || n === 0 || bindings.span(x) <= bindings.chunkElements()) return [[0, rows]];
    if (n > bindings.chunkElements()) throw bindings.tooLarge(who, x, `one row (${n * 4} bytes) is past the limit alone`);
    const per = Math.floor(bindings.chunkElements() / n);
    const blocks: [number, number][] = [];
    for (let first = 0; first < rows; first += per) blocks.push([first, Math.min(per, rows - first)]);
    return blocks;
  }
}
