/**
 * The package graph: which tsgrad packages each package depends on, written here once. The lint rule
 * (tools/eslint-package-boundaries.js) allows a package's sources exactly these imports, and
 * tools/test/package-graph.test.js checks the copies the tools need in their own formats against it:
 * each package.json's dependencies (pnpm), each package's tsconfig.json references and the root
 * tsconfig.json's (`tsc -b`). Keys are folder names under packages/ (apps/* may import any package).
 * Test files may also import @tsgrad/test-utils (and TEST_ONLY_DEPS below).
 */
export const ALLOWED_DEPS = {
  tensor: [],
  autograd: ['tensor'],
  nn: ['tensor', 'autograd'],
  optim: ['tensor', 'autograd'],
  'param-groups': ['tensor', 'autograd', 'nn', 'optim'],
  webgpu: ['tensor'],
  tsgrad: ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu'],
  // optimInfos names optimizers by their export names; tests look the classes up, so no optim edge.
  'test-utils': ['tensor', 'autograd'],
  bench: ['tensor', 'autograd', 'nn', 'optim', 'webgpu'],
};

/** '@tsgrad/optim' -> 'optim', 'tsgrad' -> 'tsgrad', anything else -> null. */
export function packageFolderOf(specifier) {
  if (specifier === 'tsgrad' || specifier.startsWith('tsgrad/')) return 'tsgrad';
  const m = /^@tsgrad\/([^/]+)/.exec(specifier);
  return m ? m[1] : null;
}

/**
 * What a package's tests may import besides its own dependencies and @tsgrad/test-utils: a backend's
 * conformance suite runs the autograd/nn op table and the optimizers on it, although the backend
 * itself depends only on @tsgrad/tensor.
 */
export const TEST_ONLY_DEPS = {
  webgpu: ['autograd', 'nn', 'optim'],
};
