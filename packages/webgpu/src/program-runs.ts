/// <reference types="@webgpu/types" />
/**
 * Program runs: an optimizer's elementwise program over a whole parameter group in a few dispatches.
 * Large tensors are stepped in place (as pieces past the binding limit); the small ones, most of a
 * real model's tensors, are packed by buffer copies into scratch streams, stepped by one dispatch per
 * batch and copied back. Separate from the backend because packing is its own plan with its own
 * bounds, over the recorder, the bindings and the buffer pool only.
 */
import { isContiguous, numel, type ElementwiseProgram, type ProgramItem, type View } from '@tsgrad/tensor';
import type { Bindings } from './bindings.js';
import type { BufferPool } from './buffer-pool.js';
import type { Recorder } from './recorder.js';
import { programShader } from './shaders/program.js';
import { bufferOf } from './storage.js';

/** Program items below this many elements are packed into scratch streams (see `run`). */
const PACK_BELOW = 1 << 18;
/**
 * A packed dispatch's bounds: its metadata (starts and scalars) fits a metadata slot, and its
 * scratch is at most 1 MiB a stream (AdamW's four streams: 4 MiB), however large the group. A step
 * holds one batch's scratch at a time; with 2^24 elements a batch, the bench GPT's AdamW step held
 * 16 MiB of scratch (4x its parameters) and a GPT-2's could have held 256 MiB.
 */
const MAX_PACKED_ITEMS = 512;
const MAX_PACKED_ELEMENTS = 1 << 18;

export class ProgramRuns {
  /** Dispatches that ran elementwise programs (reported by the backend's `stats()`). */
  dispatches = 0;

  constructor(
    private readonly recorder: Recorder,
    private readonly bindings: Bindings,
    private readonly pool: BufferPool,
  ) {}

  /**
   * Runs `program` over `items` (the backend's `runProgram`); false, having run nothing, when a
   * stream is not contiguous (the caller then runs the program another way).
   */
  run(program: ElementwiseProgram, items: readonly ProgramItem<View>[]): boolean {
    const streams = [...program.read, ...program.write];
    for (const item of items) {
      if (item.rows) throw new Error(`program ${program.name}: row-sparse updates (sparse gradients) run on the CPU only`);
      for (const s of streams) {
        const v = item.streams[s];
        if (!v) throw new Error(`program ${program.name}: stream '${s}' is missing`);
        if (v.dtype !== 'float32') throw new Error(`program ${program.name}: stream '${s}' is ${v.dtype}; webgpu runs programs on float32`);
        if (!isContiguous(v.shape, v.strides)) return false;
      }
    }
    const code = programShader(program);
    // A program is elementwise: an item past the binding limit runs as pieces, each a binding's worth.
    const chunk = this.bindings.chunkElements();
    const live = items.flatMap((item) => {
      const n = numel(item.streams[streams[0]].shape);
      if (n <= chunk) return n > 0 ? [item] : [];
      const pieces: ProgramItem<View>[] = [];
      for (let first = 0; first < n; first += chunk) {
        const count = Math.min(chunk, n - first);
        const piece = (v: View): View => ({ ...v, shape: [count], strides: [1], offset: v.offset + first });
        pieces.push({ ...item, streams: Object.fromEntries(Object.entries(item.streams).map(([name, v]) => [name, piece(v)])) });
      }
      return pieces;
    });
    const packedLimit = Math.min(MAX_PACKED_ELEMENTS, chunk);
    let batch: ProgramItem<View>[] = [];
    let batchSize = 0;
    const flushBatch = () => {
      if (batch.length > 0) this.runPacked(program, code, batch, batchSize);
      batch = [];
      batchSize = 0;
    };
    for (const item of live) {
      const n = numel(item.streams[streams[0]].shape);
      if (n >= PACK_BELOW) {
        // Bound in place when every stream starts on a binding-offset boundary, else copied alone.
        const aligned = streams.every((s) => (item.streams[s].offset * 4) % this.bindings.alignment === 0);
        if (aligned) this.programDispatch(program, code, [item], n, streams.map((s) => this.bindings.elements(item.streams[s], n)));
        else this.runPacked(program, code, [item], n);
        continue;
      }
      if (batch.length === MAX_PACKED_ITEMS || batchSize + n > packedLimit) flushBatch();
      batch.push(item);
      batchSize += n;
    }
    flushBatch();
    return true;
  }

  /** Gathers `items` into scratch streams, runs one dispatch, scatters the written streams back. */
  private runPacked(program: ElementwiseProgram, code: string, items: ProgramItem<View>[], total: number): void {
    const streams = [...program.read, ...program.write];
    const scratch = streams.map(() => this.pool.acquire(total * 4));
    const copy = (toScratch: boolean, names: readonly string[]) => {
      // (The dispatch may have submitted the encoder: take the current one.)
      const encoder = this.recorder.commands();
      let start = 0;
      for (const item of items) {
        const n = numel(item.streams[streams[0]].shape);
        for (const s of names) {
          const v = item.streams[s];
          const buffer = scratch[streams.indexOf(s)];
          if (toScratch) encoder.copyBufferToBuffer(bufferOf(v.storage), v.offset * 4, buffer, start * 4, n * 4);
          else encoder.copyBufferToBuffer(buffer, start * 4, bufferOf(v.storage), v.offset * 4, n * 4);
        }
        start += n;
      }
    };
    copy(true, streams);
    this.programDispatch(program, code, items, total, scratch.map((buffer) => ({ buffer, offset: 0, size: total * 4 })));
    copy(false, program.write);
    for (const buffer of scratch) this.pool.release(buffer);
  }

  /** One dispatch of `code` over `items`, whose streams are laid out back to back in `buffers`. */
  private programDispatch(program: ElementwiseProgram, code: string, items: ProgramItem<View>[], total: number, buffers: GPUBufferBinding[]): void {
    const starts = [0];
    for (const item of items) starts.push(starts[starts.length - 1] + numel(item.streams[program.read[0] ?? program.write[0]].shape));
    const scalars = new Float32Array(items.length * program.scalars.length);
    items.forEach((item, k) =>
      program.scalars.forEach((name, j) => {
        const value = item.scalars[name];
        if (typeof value !== 'number') throw new Error(`program ${program.name}: scalar '${name}' is missing`);
        scalars[k * program.scalars.length + j] = value;
      }),
    );
    const meta = [total, items.length, program.scalars.length, ...starts, ...new Uint32Array(scalars.buffer)];
    this.recorder.dispatch(`program ${program.name}`, code, buffers, meta, this.recorder.groups(total));
    this.dispatches++;
  }
}
