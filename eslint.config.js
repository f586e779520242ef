import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import boundaries from './tools/eslint-package-boundaries.js';

export default tseslint.config(
  { ignores: ['docs/**', '**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**', '**/test-results/**', '**/bench-results/**', '.gpu-bench-pack/**',
    // AssemblyScript (its own types and decorators; checked by its compiler) and its generated module.
    'packages/tensor/assembly/**', 'packages/tensor/src/cpu/wasm/binary.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,js,mjs}'],
    languageOptions: { globals: { ...globals.node } },
    plugins: { tsgrad: boundaries },
    rules: {
      'tsgrad/package-boundaries': 'error',
      // Option bags, not long positional lists (STYLE.md).
      'max-params': ['error', 5],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use string-literal unions, never enums (STYLE.md).' }],
    },
  },
);
