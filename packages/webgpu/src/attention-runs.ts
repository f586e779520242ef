/// <reference types="@webgpu/types" preserve="true" />
/**
 * The fused attention's dispatches (the backend's `attention` and `attentionBackward`) on float32 or
 * half operands (read in place, results float32): checks,
 * metadata, bindings and workgroup counts for the kernels of shaders/attention.ts. Memory beyond the
 * inputs and results is O(rows): the logsumexp, and in the backward (logsumexp, D) per query row and
 * one [B·H, S, E + Ev] buffer for dk and dv, split into the two results. No [L, S] buffer is made.
 */
import { isHalf, numel, type AttentionInputs, type AttentionOptions, type AttentionSaved, type DType, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { ATTENTION_ROWS, attentionForwardShader, attentionKeyGradShader, attentionQueryGradShader, attentionStatsShader, type AttentionDTypes } from './shaders/attention.js';

/** Head dims the kernels are compiled for (a row lives in private arrays): at most this. */
export const ATTENTION_MAX_HEAD_DIM = 128;

/** What the runs need of the backend. */
export interface AttentionOps {
  readonly recorder: Recorder;
  readonly bindings: Bindings;
  fresh(dtype: DType, shape: readonly number[]): View;
  free(storage: Storage): void;
  copy(src: View, dst: View): void;
  full(size: number, value: number, dtype: DType): Storage;
}

export class AttentionRuns {
  constructor(private readonly ops: AttentionOps) {}

  forward(inputs: AttentionInputs, opts: AttentionOptions): { output: Storage; logsumexp: Storage } {
    const { B, H, L, E, Ev } = this.check('attention', inputs);
    this.fitWhole([inputs.query, inputs.key, inputs.value, inputs.mask], [[B, H, L, Ev]]);
    const output = this.ops.fresh('float32', [B, H, L, Ev]);
    const logsumexp = this.ops.fresh('float32', [B, H, L]);
    if (B * H * L === 0) return { output: output.storage, logsumexp: logsumexp.storage };
    const { bindings, recorder } = this.ops;
    const buffers = [...this.operands(inputs), bindings.whole(output), bindings.whole(logsumexp)];
    recorder.dispatch('attention', attentionForwardShader(E, Ev, this.dtypes(inputs, null)), buffers, this.meta(inputs, opts, null), this.groups(L, B * H));
    return { output: output.storage, logsumexp: logsumexp.storage };
  }

  backward(inputs: AttentionInputs, saved: AttentionSaved, opts: AttentionOptions): { query: Storage; key: Storage; value: Storage } {
    const { B, H, L, S, E, Ev } = this.check('attention backward', inputs, saved);
    const { bindings, recorder } = this.ops;
    if (B * H * L * S === 0) {
      // No query or no key: nothing flows back.
      const zeros = (shape: number[]) => this.ops.full(numel(shape), 0, 'float32');
      return { query: zeros([B, H, L, E]), key: zeros([B, H, S, E]), value: zeros([B, H, S, Ev]) };
    }
    this.fitWhole([inputs.query, inputs.key, inputs.value, inputs.mask, saved.output, saved.gradOutput], [[B, H, L, E], [B, H, S, E + Ev]]);
    const dq = this.ops.fresh('float32', [B, H, L, E]);
    const dk = this.ops.fresh('float32', [B, H, S, E]);
    const dv = this.ops.fresh('float32', [B, H, S, Ev]);
    const meta = this.meta(inputs, opts, saved.gradOutput);
    const dtypes = this.dtypes(inputs, saved);
    const stats = this.ops.fresh('float32', [B * H * L * 2]);
    const dout = bindings.whole(saved.gradOutput);
    recorder.dispatch('attention backward', attentionStatsShader(Ev, dtypes), [bindings.whole(saved.output), dout, bindings.whole(saved.logsumexp), bindings.whole(stats)], meta, this.groups(L, B * H));
    const operands = this.operands(inputs);
    recorder.dispatch('attention backward', attentionQueryGradShader(E, Ev, dtypes), [...operands, dout, bindings.whole(stats), bindings.whole(dq)], meta, this.groups(L, B * H));
    const dkv = this.ops.fresh('float32', [B, H, S, E + Ev]);
    recorder.dispatch('attention backward', attentionKeyGradShader(E, Ev, dtypes), [...operands, dout, bindings.whole(stats), bindings.whole(dkv)], meta, this.groups(S, B * H));
    this.ops.free(stats.storage);
    this.ops.copy({ ...dkv, shape: [B, H, S, E] }, dk);
    this.ops.copy({ ...dkv, shape: [B, H, S, Ev], offset: E }, dv);
    this.ops.free(dkv.storage);
    return { query: dq.storage, key: dk.storage, value: dv.storage };
  }

  /**
   * The dims, after checking what the kernels assume: 4-D float32 or half views of matching shapes
   * (half ones read in place), and in the backward a contiguous output at offset 0.
   */
  private check(who: string, { query, key, value, mask }: AttentionInputs, saved?: AttentionSaved): { B: number; H: number; L: number; S: number; E: number; Ev: number } {
    const views = [['query', query], ['key', key], ['value', value], ['mask', mask], ['output', saved?.output ?? null], ['gradOutput', saved?.gradOutput ?? null]] as const;
    for (const [name, v] of views) {
      if (v === null) continue;
      if (v.dtype !== 'float32' && !isHalf(v.dtype)) throw new Error(`webgpu: ${who} needs float32, float16 or bfloat16 operands, got ${name} of dtype ${v.dtype}`);
      if (v.shape.length !== 4) throw new Error(`webgpu: ${who} needs 4-D operands [B, H, rows, cols], got ${name} of shape [${v.shape.join(', ')}]`);
    }
    const [B, H, L, E] = query.shape;
    const [S, Ev] = [key.shape[2], value.shape[3]];
    const same = (v: View, shape: number[]) => v.shape.every((d, i) => d === shape[i]);
    if (!same(key, [B, H, S, E]) || !same(value, [B, H, S, Ev]) || (mask && !same(mask, [B, H, L, S]))) {
      const shapes = [query, key, value, mask].filter((v) => v !== null).map((v) => `[${v.shape.join(', ')}]`);
      throw new Error(`webgpu: ${who} needs query [B, H, L, E], key [B, H, S, E], value [B, H, S, Ev] and mask [B, H, L, S], got ${shapes.join(', ')}`);
    }
    if (saved) {
      const { output, gradOutput } = saved;
      if (!same(output, [B, H, L, Ev]) || !same(gradOutput, [B, H, L, Ev])) {
        throw new Error(`webgpu: ${who} needs the output and its gradient of shape [${[B, H, L, Ev].join(', ')}], got [${output.shape.join(', ')}] and [${gradOutput.shape.join(', ')}]`);
      }
      // The stats kernel reads the output it wrote as rows of Ev: contiguous from element 0.
      if (output.offset !== 0 || output.strides.some((st, i) => st !== [H * L * Ev, L * Ev, Ev, 1][i] && output.shape[i] !== 1)) {
        throw new Error(`webgpu: ${who} needs the forward's output contiguous at offset 0, got strides [${output.strides.join(', ')}] at offset ${output.offset}`);
      }
    }
    if (E > ATTENTION_MAX_HEAD_DIM || Ev > ATTENTION_MAX_HEAD_DIM) {
      throw new Error(`webgpu: ${who} runs head dims up to ${ATTENTION_MAX_HEAD_DIM}, got query/key ${E} and value ${Ev}`);
    }
    if (B * H > this.ops.bindings.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`webgpu: ${who} runs at most ${this.ops.bindings.limits.maxComputeWorkgroupsPerDimension} (batch, head) pairs, got ${B}·${H}`);
    }
    return { B, H, L, S, E, Ev };
  }

  /** Query, key, value and the mask as bindings (without a mask, the query's binding stands in, unread; `fitWhole` checked them). */
  private operands({ query, key, value, mask }: AttentionInputs): GPUBufferBinding[] {
    return [query, key, value, mask ?? query].map((v) => this.ops.bindings.whole(v));
  }

  /**
   * The limit Error for the first of `views` (operands and saved tensors, or the float32 results' shapes)
   * past one binding: each is bound whole.
   */
  private fitWhole(views: readonly (View | null)[], results: readonly number[][] = []): void {
    const { bindings } = this.ops;
    const max = bindings.limits.maxStorageBufferBindingSize;
    for (const v of views) {
      if (v !== null && (bindings.whole(v).size ?? 0) > max) throw bindings.tooLarge('attention', v, 'the fused attention binds it whole');
    }
    for (const shape of results) {
      if (numel(shape) * 4 > max) throw bindings.tooLarge('attention', { dtype: 'float32', shape }, 'is a result the fused attention binds whole');
    }
  }

  /** What each kernel reads of each operand (the query's dtype for the unread stand-in mask). */
  private dtypes({ query, key, value, mask }: AttentionInputs, saved: AttentionSaved | null): AttentionDTypes {
    const read = { q: query.dtype, k: key.dtype, v: value.dtype, mask: (mask ?? query).dtype, ...(saved && { o: saved.output.dtype, dout: saved.gradOutput.dtype }) };
    return read as AttentionDTypes;
  }

  private meta({ query, key, value, mask }: AttentionInputs, { scale, isCausal }: AttentionOptions, gradOutput: View | null): number[] {
    const [, H, L] = query.shape;
    const S = key.shape[2];
    const view = (v: View | null) => (v === null ? [0, 0, 0, 0, 0] : [v.offset, ...v.strides]);
    const bits = new DataView(new ArrayBuffer(4));
    bits.setFloat32(0, scale, true);
    return [H, L, S, bits.getUint32(0, true), isCausal ? 1 : 0, mask ? 1 : 0, ...[query, key, value, mask, gradOutput].flatMap(view)];
  }

  /** One workgroup per 64 rows of one (batch, head): x the row blocks, y the pairs. */
  private groups(rows: number, pairs: number): [number, number, number] {
    return [Math.ceil(rows / ATTENTION_ROWS), pairs, 1];
  }
}

