import { existsSync } from 'node:fs';
import { TEST_DRIVERS } from './drivers.js';

/**
 * The `webgpu-lavapipe` project: this package's tests again, on Mesa's lavapipe, whose adapter has
 * `shader-f16` (the native half path; see drivers.ts). Always this driver, whatever VK_ICD_FILENAMES
 * the caller exported for the other projects. No skipping: without the driver the tests fail, saying
 * how to get it.
 */
const { icd } = TEST_DRIVERS.lavapipe;
if (!existsSync(icd)) {
  throw new Error(`webgpu-lavapipe: no lavapipe driver at ${icd}; fetch it with 'bash scripts/lavapipe.sh' (Mesa 25 from Debian's bookworm-backports, unpacked into .cache/)`);
}
// The Vulkan loader (1.3.234+) prefers VK_DRIVER_FILES to VK_ICD_FILENAMES and adds VK_ADD_DRIVER_FILES.
delete process.env.VK_DRIVER_FILES;
delete process.env.VK_ADD_DRIVER_FILES;
process.env.VK_ICD_FILENAMES = icd;
process.env.TSGRAD_TEST_DRIVER = 'lavapipe';
