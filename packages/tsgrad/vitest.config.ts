import { defineConfig } from 'vitest/config';
import { packageConfig } from '../../tools/vitest-projects.js';

// This package's tests alone, set up as in the root run (DEVELOPERS.md, "Tests").
export default defineConfig(packageConfig(import.meta.url));
