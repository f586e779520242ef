import { defineConfig } from 'vitest/config';
import { rootConfig } from './tools/vitest-projects.js';

// Every package's tests in one run, each package its own project (tools/vitest-projects.js, which
// also rebuilds the WebAssembly kernels when assembly/ changed). A package alone: its own
// vitest.config.ts, from its folder (DEVELOPERS.md, "Tests").
export default defineConfig(rootConfig());
