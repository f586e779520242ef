import { describe, expect, it } from 'vitest';
import { errorInputs } from '@tsgrad/test-utils';

/** The shared misuse table (test-utils' `errorInputs`) on the CPU; webgpu's tests run it on the GPU. */
describe('error inputs on the CPU', () => {
  it.each(errorInputs.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    await expect(Promise.resolve().then(() => c.run('cpu'))).rejects.toThrow(c.error);
  });
});
