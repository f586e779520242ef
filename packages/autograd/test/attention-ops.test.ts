import { describe, it } from 'vitest';
import { attentionOpCases, checkAttentionOpCase } from '@tsgrad/test-utils';

/**
 * split, chunk, tril, triu, maskedFill, cumsum, sort, argsort and topk against PyTorch
 * (fixtures/attention-ops.json): values, indices and gradients, on the CPU in float64 (tsgrad's parity
 * target, 1e-10) and in float32 (against PyTorch's float64, to float32 precision).
 */
const rows = attentionOpCases().map((c) => [`${c.op}: ${c.note}`, c] as const);

describe('attention ops against PyTorch, CPU float64', () => {
  it.each(rows)('%s', async (_, c) => {
    await checkAttentionOpCase(c, { dtype: 'float64', device: 'cpu', rtol: 1e-10, atol: 1e-12 });
  });
});

describe('attention ops against PyTorch, CPU float32', () => {
  it.each(rows)('%s', async (_, c) => {
    await checkAttentionOpCase(c, { dtype: 'float32', device: 'cpu', rtol: 1e-5, atol: 1e-6 });
  });
});
