import path from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import boundaries from '../eslint-package-boundaries.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = path.resolve(import.meta.dirname, '..', '..');
const file = (p) => path.join(root, p);
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run('tsgrad/package-boundaries', boundaries.rules['package-boundaries'], {
  valid: [
    { code: "import { Tensor } from '@tsgrad/autograd';", filename: file('packages/optim/src/sgd.ts') },
    { code: "import { x } from './local.js';", filename: file('packages/optim/src/sgd.ts') },
    { code: "import { x } from '../src/index.js';", filename: file('packages/optim/test/sgd.test.ts') },
    { code: "import { expectClose } from '@tsgrad/test-utils';", filename: file('packages/optim/test/sgd.test.ts') },
    { code: "import { Linear } from '@tsgrad/nn';", filename: file('apps/wd-lab/src/main.ts') },
    { code: "import { tensor } from '@tsgrad/autograd';", filename: file('packages/webgpu/test/conformance.test.ts') },
    { code: "import { packageConfig } from '../../tools/vitest-projects.js';", filename: file('packages/optim/vitest.config.ts') },
  ],
  invalid: [
    { code: "import { Linear } from '@tsgrad/nn';", filename: file('packages/optim/src/sgd.ts'), errors: [{ message: /@tsgrad\/optim may not import '@tsgrad\/nn'/ }] },
    { code: "import { Tensor } from '@tsgrad/autograd';", filename: file('packages/webgpu/src/backend.ts'), errors: [{ message: /allows @tsgrad\/tensor/ }] },
    { code: "import { Linear } from '@tsgrad/nn';", filename: file('packages/optim/test/sgd.test.ts'), errors: [{ message: /@tsgrad\/optim may not import '@tsgrad\/nn'/ }] },
    { code: "import { x } from '@tsgrad/tensor/src/shape.js';", filename: file('packages/autograd/src/a.ts'), errors: [{ message: /deep import/ }] },
    { code: "import { x } from '../../tensor/src/shape.js';", filename: file('packages/autograd/src/a.ts'), errors: [{ message: /reaches into another package's files/ }] },
    { code: "import { packageConfig } from '../../../tools/vitest-projects.js';", filename: file('packages/optim/src/sgd.ts'), errors: [{ message: /reaches into another package's files/ }] },
    { code: "import { x } from '../../nn/vitest.config.ts';", filename: file('packages/optim/vitest.config.ts'), errors: [{ message: /reaches into another package's files/ }] },
    { code: "import { x } from '../dist/index.js';", filename: file('packages/autograd/test/a.test.ts'), errors: [{ message: /imports built output/ }] },
    { code: "export * from '@tsgrad/optim';", filename: file('packages/nn/src/index.ts'), errors: [{ message: /@tsgrad\/nn may not import/ }] },
  ],
});
