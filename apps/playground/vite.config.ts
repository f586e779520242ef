import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  // The decay plan names each parameter's module by its class name: keep names through minification.
  esbuild: { keepNames: true },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 2000 },
});
