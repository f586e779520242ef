import { manualSeed, randn, scope } from '@tsgrad/autograd';
import { functional as F } from '@tsgrad/nn';
import type { WebGPUBackend } from '@tsgrad/webgpu';

/** Issue 23's full size: B = 8, H = 8, T = 1024, head dim 64, float32. */
export const ATTENTION_FULL = { batch: 8, heads: 8, seq: 1024, headDim: 64 } as const;
export type AttentionSize = { [K in keyof typeof ATTENTION_FULL]: number };

export interface AttentionMemory {
  size: AttentionSize;
  /** Peak pool bytes above those in use before the call: after the forward, and after forward and backward. */
  forwardPeak: number;
  totalPeak: number;
  /** What one [B, H, T, T] float32 score matrix would take (the composed path holds it, and the weights as much again). */
  scoresBytes: number;
  /** One [B, H, T, D] float32 tensor (q, k, v, the output, each gradient). */
  tensorBytes: number;
  seconds: number;
}

/**
 * Causal F.scaledDotProductAttention forward and backward on WebGPU, measured with the buffer pool's
 * peak statistics (backend.pool.resetPeak, stats().peakBytesInUse): the fused kernel never holds the
 * T × T scores, so the peak stays a few [B, H, T, D] tensors, far below `scoresBytes`.
 */
export async function attentionMemory(backend: WebGPUBackend, size: AttentionSize = ATTENTION_FULL): Promise<AttentionMemory> {
  const { batch, heads, seq, headDim } = size;
  const shape = [batch, heads, seq, headDim];
  manualSeed(3);
  const [q, k, v] = [0, 1, 2].map(() => randn(shape).to('webgpu').requiresGrad_());
  const cot = randn(shape).to('webgpu');
  await cot.data(); // the uploads are done before the clock starts
  const t0 = performance.now();
  // Synchronous from the reset to the end of the scope: no finalizer can release a buffer in between.
  backend.pool.resetPeak();
  const before = backend.stats().bytesInUse;
  let forwardPeak = 0;
  scope(() => {
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    forwardPeak = backend.stats().peakBytesInUse - before;
    out.backward(cot);
  });
  const totalPeak = backend.stats().peakBytesInUse - before;
  await Promise.all([q, k, v].map((t) => t.grad!.reshape([-1]).narrow(0, 0, 1).data()));
  const seconds = (performance.now() - t0) / 1000;
  for (const t of [q, k, v]) t.grad?.dispose();
  for (const t of [q, k, v, cot]) t.dispose();
  return { size, forwardPeak, totalPeak, scoresBytes: batch * heads * seq * seq * 4, tensorBytes: batch * heads * seq * headDim * 4, seconds };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** One line: the peaks against the score matrix's bytes. */
export function describeAttentionMemory(m: AttentionMemory): string {
  const { batch, heads, seq, headDim } = m.size;
  return (
    `attention B=${batch} H=${heads} T=${seq} D=${headDim} causal, forward+backward in ${m.seconds.toFixed(1)} s: pool peak ${mb(m.totalPeak)} ` +
    `(forward ${mb(m.forwardPeak)}; one [B, H, T, D] tensor ${mb(m.tensorBytes)}) against ${mb(m.scoresBytes)} for one ${batch}×${heads}×${seq}×${seq} float32 score matrix`
  );
}
