/**
 * The allowed dependency direction between tsgrad's packages: the one table that the lint rule,
 * DEVELOPERS.md and the package.json check agree on. Keys are folder names under packages/ (apps/*
 * may import any package). Test files may also import @tsgrad/test-utils.
 */
export const ALLOWED_DEPS = {
  tensor: [],
  autograd: ['tensor'],
  nn: ['tensor', 'autograd'],
  optim: ['tensor', 'autograd'],
  'param-groups': ['tensor', 'autograd', 'nn', 'optim'],
  webgpu: ['tensor'],
  tsgrad: ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu'],
  'test-utils': ['tensor', 'autograd', 'nn', 'optim'],
  bench: ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu'],
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
