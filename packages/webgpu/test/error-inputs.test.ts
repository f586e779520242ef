import { beforeAll, describe, expect, it } from 'vitest';
import { errorInputs } from '@tsgrad/test-utils';
import { gpu } from './gpu.js';

beforeAll(async () => {
  await gpu();
}, 60_000);

/** The shared misuse table (test-utils' `errorInputs`) on the GPU: the same Errors as on the CPU. */
describe('error inputs on webgpu', () => {
  it.each(errorInputs.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    await expect(Promise.resolve().then(() => c.run('webgpu'))).rejects.toThrow(c.error);
  });
});
