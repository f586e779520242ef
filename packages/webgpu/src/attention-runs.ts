/// <reference types="@webgpu/types" preserve="true" />
/**
 * The fused attention's dispatches (the backend's `attention` and `attentionBackward`): checks,
 * metadata, bindings and workgroup counts for the kernels of shaders/attention.ts. Memory beyond the
 * inputs and results is O(rows): the logsumexp, and in the backward (logsumexp, D) per query row and
 * one [B·H, S, E + Ev] buffer for dk and dv, split into the two results. No [L, S] buffer is made.
 */
import { numel, type AttentionInputs, type AttentionOptions, type AttentionSaved, type DType, type Storage, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { Recorder } from './recorder.js';
import { ATTENTION_ROWS, attentionForwardShader, attentionKeyGradShader, attentionQueryGradShader, attentionStatsShader } from './shaders/attention.js';

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
    const output = this.ops.fresh('float32', [B, H, L, Ev]);
    const logsumexp = this.ops.fresh('float32', [B, H, L]);
    if (B * H * L === 0) return { output: output.storage, logsumexp: logsumexp.storage };
    const { bindings, recorder } = this.ops;
    const buffers = [...this.operands(inputs), bindings.whole(output), bindings.whole(logsumexp)];
    recorder.dispatch('attention', attentionForwardShader(E, Ev), buffers, this.meta(inputs, opts, null), this.groups(L, B * H));
    return { output: output.storage, logsumexp: logsumexp.storage };
  }

  backward(inputs: AttentionInputs, saved: AttentionSaved, opts: AttentionOptions): { query: Storage; key: Storage; value: Storage } {
    const { B, H, L, S, E, Ev } = this.check('attention backward', inputs);
    const { bindings, recorder } = this.ops;
    if (B * H * L * S === 0) {
      // No query or no key: nothing flows back.
      const zeros = (shape: number[]) => this.ops.full(numel(shape), 0, 'float32');
      return { query: zeros([B, H, L, E]), key: zeros([B, H, S, E]), value: zeros([B, H, S, Ev]) };
    }
    const dq = this.ops.fresh('float32', [B, H, L, E]);
    const dk = this.ops.fresh('float32', [B, H, S, E]);
    const dv = this.ops.fresh('float32', [B, H, S, Ev]);
    const meta = this.meta(inputs, opts, saved.gradOutput);
    const stats = this.ops.fresh('float32', [B * H * L * 2]);
    const dout = bindings.whole(saved.gradOutput);
    recorder.dispatch('attention backward', attentionStatsShader(Ev), [bindings.whole(saved.output), dout, bindings.whole(saved.logsumexp), bindings.whole(stats)], meta, this.groups(L, B * H));
    const operands = this.operands(inputs);
    recorder.dispatch('attention backward', attentionQueryGradShader(E, Ev), [...operands, dout, bindings.whole(stats), bindings.whole(dq)], meta, this.groups(L, B * H));
    const dkv = this.ops.fresh('float32', [B, H, S, E + Ev]);
    recorder.dispatch('attention backward', attentionKeyGradShader(E, Ev), [...operands, dout, bindings.whole(stats), bindings.whole(dkv)], meta, this.groups(S, B * H));
    this.ops.free(stats.storage);
    this.ops.copy({ ...dkv, shape: [B, H, S, E] }, dk);
    this.ops.copy({ ...dkv, shape: [B, H, S, Ev], offset: E }, dv);
    this.ops.free(dkv.storage);
    return { query: dq.storage, key: dk.storage, value: dv.storage };
  }

  /** The dims, after checking what the kernels assume (4-D float32 views of matching shapes). */
  private check(who: string, { query, key, value, mask }: AttentionInputs): { B: number; H: number; L: number; S: number; E: number; Ev: number } {
    for (const [name, v] of [['query', query], ['key', key], ['value', value], ['mask', mask]] as const) {
      if (v === null) continue;
      if (v.dtype !== 'float32') throw new Error(`webgpu: ${who} needs float32 operands, got ${name} of dtype ${v.dtype}`);
      if (v.shape.length !== 4) throw new Error(`webgpu: ${who} needs 4-D operands [B, H, rows, cols], got ${name} of shape [${v.shape.join(', ')}]`);
    }
    const [B, H, L, E] = query.shape;
    const [S, Ev] = [key.shape[2], value.shape[3]];
    const same = (v: View, shape: number[]) => v.shape.every((d, i) => d === shape[i]);
    if (!same(key, [B, H, S, E]) || !same(value, [B, H, S, Ev]) || (mask && !same(mask, [B, H, L, S]))) {
      const shapes = [query, key, value, mask].filter((v) => v !== null).map((v) => `[${v.shape.join(', ')}]`);
      throw new Error(`webgpu: ${who} needs query [B, H, L, E], key [B, H, S, E], value [B, H, S, Ev] and mask [B, H, L, S], got ${shapes.join(', ')}`);
    }
    if (E > ATTENTION_MAX_HEAD_DIM || Ev > ATTENTION_MAX_HEAD_DIM) {
      throw new Error(`webgpu: ${who} runs head dims up to ${ATTENTION_MAX_HEAD_DIM}, got query/key ${E} and value ${Ev}`);
    }
    if (B * H > this.ops.bindings.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`webgpu: ${who} runs at most ${this.ops.bindings.limits.maxComputeWorkgroupsPerDimension} (batch, head) pairs, got ${B}·${H}`);
    }
    return { B, H, L, S, E, Ev };
  }

  /** Query, key, value and the mask as bindings (without a mask, the query's binding stands in, unread). */
  private operands({ query, key, value, mask }: AttentionInputs): GPUBufferBinding[] {
    const { bindings } = this.ops;
    const limit = bindings.limits.maxStorageBufferBindingSize / 4;
    for (const v of [query, key, value, mask]) {
      if (v !== null && bindings.extent(v) > limit) throw bindings.tooLarge('attention', v, 'the fused attention binds it whole');
    }
    return [query, key, value, mask ?? query].map((v) => bindings.whole(v));
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
