import { beforeAll, describe, it } from 'vitest';
import { checkPromotionCase, describePromotionCase, hasFloat64, promotionCases, type PromotionCase } from '@tsgrad/test-utils';
import { gpu, values } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/**
 * The type-promotion table (fixtures/promotion.json, as in autograd's promotion.test.ts) on WebGPU:
 * every case whose operands the device holds. Left to the CPU test: float64 (WebGPU has none; moving
 * it there is an Error of its own, tested in errors.test.ts) and int32 `pow` results (WGSL has no
 * integer pow, and the backend says so: "webgpu: pow needs float32 inputs").
 */
const runsOnWebGPU = (c: PromotionCase) => !hasFloat64(c) && !(c.op === 'pow' && c.dtype === 'int32');
const cases = promotionCases().filter(runsOnWebGPU);

describe('type promotion matches PyTorch on WebGPU', () => {
  it.each(cases.map((c) => [describePromotionCase(c), c] as const))('%s', async (_, c) => {
    await checkPromotionCase(c, 'webgpu', values);
  });
});
