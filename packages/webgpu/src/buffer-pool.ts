/// <reference types="@webgpu/types" />
/**
 * GPU buffers reused by size class (powers of two from 256 bytes): a freed tensor's buffer serves
 * the next allocation of its class instead of a fresh `createBuffer`, so a training loop reaches a
 * steady state where it allocates nothing.
 */
import type { GPUBufferHandle, GPUDeviceHandle } from './gpu-types.js';

export interface PoolStats {
  /** Bytes in buffers held by live tensors. */
  bytesInUse: number;
  /** The most `bytesInUse` has been since the pool was created or `resetPeak()` was last called. */
  peakBytesInUse: number;
  /** Bytes in free buffers waiting for reuse. */
  bytesPooled: number;
  buffersInUse: number;
  buffersPooled: number;
  /** Buffers ever created with createBuffer. */
  buffersCreated: number;
  /**
   * Buffers given back because the garbage collector took their tensor without `dispose()` (also
   * counted in `buffersPooled`). They arrive whenever the collector runs, even between two lines of
   * an async function: a growing count says tensors are being left to the collector.
   */
  buffersCollected: number;
}

/**
 * GPU buffers in power-of-two size classes, reused after a tensor is freed, so a training step allocates nothing once warm.
 * @example
 * const pool = new BufferPool(device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
 * const buffer = pool.acquire(4096);
 * pool.release(buffer);
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private stats: PoolStats = { bytesInUse: 0, peakBytesInUse: 0, bytesPooled: 0, buffersInUse: 0, buffersPooled: 0, buffersCreated: 0, buffersCollected: 0 };

  /**
   * `maxBytes`: the device's maxBufferSize; a class never exceeds it (the largest buffers get their
   * exact size, rounded to 256). `beforeTrim`: called before pooled buffers are destroyed (the
   * backend submits its recorded commands there, which may still use them).
   */
  constructor(
    private readonly device: GPUDeviceHandle,
    private readonly usage: number,
    private readonly maxBytes = Infinity,
    private readonly beforeTrim: () => void = () => {},
  ) {}

  /**
   * The byte size of the buffer that serves a request: the next power of two (at least 256), capped at maxBufferSize.
   * @example
   * pool.sizeClass(1000) // 1024
   */
  sizeClass(bytes: number): number {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    return size <= this.maxBytes ? size : Math.ceil(bytes / 256) * 256;
  }

  /**
   * A free buffer of the request's size class, or a new one.
   * @example
   * const buffer = pool.acquire(4096);
   */
  acquire(bytes: number): GPUBufferHandle {
    const size = this.sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.stats.bytesPooled -= size;
      this.stats.buffersPooled--;
    } else {
      buffer = this.device.createBuffer({ size, usage: this.usage });
      this.stats.buffersCreated++;
    }
    this.stats.bytesInUse += size;
    this.stats.peakBytesInUse = Math.max(this.stats.peakBytesInUse, this.stats.bytesInUse);
    this.stats.buffersInUse++;
    return buffer;
  }

  /**
   * Gives a buffer back for reuse; `collected` when its tensor was garbage collected, not disposed.
   * @example
   * pool.release(buffer);
   */
  release(buffer: GPUBufferHandle, collected = false): void {
    const size = buffer.size;
    if (collected) this.stats.buffersCollected++;
    this.stats.bytesInUse -= size;
    this.stats.buffersInUse--;
    const list = this.free.get(size) ?? [];
    list.push(buffer);
    this.free.set(size, list);
    this.stats.bytesPooled += size;
    this.stats.buffersPooled++;
  }

  /**
   * Destroys every pooled buffer (their memory goes back to the driver).
   * @example
   * pool.trim(); // after training: free GPU memory for other work
   */
  trim(): void {
    // Recorded commands may still use a pooled buffer: let the owner submit them first.
    this.beforeTrim();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.bytesPooled = 0;
    this.stats.buffersPooled = 0;
  }

  /**
   * Starts a new peak: `peakBytesInUse` becomes the bytes in use now (to measure one computation's peak).
   * @example
   * pool.resetPeak();
   * run();
   * pool.snapshot().peakBytesInUse // the most bytes live tensors held while run() ran
   */
  resetPeak(): void {
    this.stats.peakBytesInUse = this.stats.bytesInUse;
  }

  /**
   * Counts and bytes in use and pooled.
   * @example
   * pool.snapshot() // { bytesInUse, peakBytesInUse, bytesPooled, buffersInUse, buffersPooled, buffersCreated, buffersCollected }
   */
  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
