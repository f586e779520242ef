import { existsSync } from 'node:fs';

/**
 * The WebGPU tests here (the GPT under autocast) run Dawn on SwiftShader's Vulkan driver without a
 * GPU, as webgpu's own test/setup.ts: the loader reads VK_ICD_FILENAMES when Dawn creates its instance.
 */
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;
