import { beforeAll, describe, it } from 'vitest';
import { attentionOpCases, checkAttentionOpCase } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

/**
 * split, chunk, tril, triu, maskedFill, cumsum, sort, argsort and topk on WebGPU in float32 against
 * PyTorch's float64 values and gradients (fixtures/attention-ops.json): the cumsum and sort kernels
 * (shaders/scan.ts, shaders/sort.ts) with ties, NaN, infinities and transposed inputs.
 */
const rows = attentionOpCases().map((c) => [`${c.op}: ${c.note}`, c] as const);

beforeAll(async () => {
  await gpu();
}, 60_000);

describe('attention ops against PyTorch, WebGPU float32', () => {
  it.each(rows)('%s', async (_, c) => {
    await checkAttentionOpCase(c, { dtype: 'float32', device: 'webgpu', rtol: 1e-5, atol: 1e-6 });
  }, 60_000);
});
