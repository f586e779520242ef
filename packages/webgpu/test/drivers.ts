import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HalfPath } from '@tsgrad/webgpu';

/**
 * The Vulkan drivers the WebGPU tests run on without a GPU, one vitest project each
 * (tools/vitest-projects.js): the whole suite runs on both, so a kernel that leans on one driver's
 * reading of what WGSL leaves open (the sign of a zero, NaN) fails on the other.
 * - `swiftshader`: Debian's chromium package; no `shader-f16`, so half tensors take the packed path.
 * - `lavapipe`: Mesa 25's CPU driver, unpacked by scripts/lavapipe.sh; it has `shader-f16`, so the
 *   same tests run the native half path.
 * The project's setup file names its driver in TSGRAD_TEST_DRIVER; a run with VK_ICD_FILENAMES set
 * by the caller (a real GPU) names none, and the driver-specific checks then take the adapter's word.
 */
export const TEST_DRIVERS = {
  swiftshader: { icd: '/usr/lib/chromium/vk_swiftshader_icd.json', adapter: /swiftshader/i, halfPath: 'packed' },
  lavapipe: {
    icd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../.cache/lavapipe/lvp_icd.json'),
    adapter: /llvmpipe/i,
    halfPath: 'native',
  },
} as const satisfies Record<string, { icd: string; adapter: RegExp; halfPath: HalfPath }>;

export type TestDriver = keyof typeof TEST_DRIVERS;

/** The driver this test process runs on, as its project's setup file set it; undefined for a caller's own. */
export function testDriver(): TestDriver | undefined {
  const name = process.env.TSGRAD_TEST_DRIVER;
  return name === 'swiftshader' || name === 'lavapipe' ? name : undefined;
}
