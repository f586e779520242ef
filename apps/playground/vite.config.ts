import { defineConfig } from 'vite';

// Cross-origin isolation: the only way a page gets SharedArrayBuffer, which the CPU backend's worker
// threads need. Serve the built app with the same two headers.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
  // The decay plan names each parameter's module by its class name: keep names through minification.
  esbuild: { keepNames: true },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 2000 },
});
