import { existsSync } from 'node:fs';
import { TEST_DRIVERS } from './drivers.js';

/**
 * Without a GPU (CI), Dawn runs on SwiftShader's Vulkan driver from Debian's chromium package.
 * The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its instance, so set it before that.
 * A VK_ICD_FILENAMES set by the caller (a real GPU's driver) is kept.
 * No skipping: if no adapter can be found, the tests fail.
 */
const { icd } = TEST_DRIVERS.swiftshader;
if (!process.env.VK_ICD_FILENAMES && existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
// VK_DRIVER_FILES and VK_ADD_DRIVER_FILES, when set, choose or add drivers the loader prefers: a caller's own.
const callersDriver = process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES;
if (process.env.VK_ICD_FILENAMES === icd && !callersDriver) process.env.TSGRAD_TEST_DRIVER = 'swiftshader';
