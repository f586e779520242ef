import { existsSync } from 'node:fs';

/**
 * Without a GPU (CI), Dawn runs on SwiftShader's Vulkan driver from Debian's chromium package.
 * The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its instance, so set it before that.
 * No skipping: if no adapter can be found, the tests fail.
 */
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
