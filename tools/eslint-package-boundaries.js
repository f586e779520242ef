import path from 'node:path';
import { ALLOWED_DEPS, TEST_ONLY_DEPS, packageFolderOf } from './package-graph.js';

/**
 * ESLint rule `tsgrad/package-boundaries`: a package imports another only through its entry
 * (`@tsgrad/x`, never `@tsgrad/x/src/...`, `../../x/src` or a `dist/` path), and only in the direction
 * of ALLOWED_DEPS (optim never imports nn; webgpu only tensor).
 */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce tsgrad package boundaries and dependency direction' },
    schema: [],
  },
  create(context) {
    const filename = context.filename;
    // Locate packages/<folder> or apps/<folder> in the file's own path (independent of the cwd).
    const parts = filename.split(path.sep);
    const at = Math.max(parts.lastIndexOf('packages'), parts.lastIndexOf('apps'));
    if (at < 0 || at + 2 >= parts.length) return {};
    const group = parts[at];
    const folder = parts[at + 1];
    const packageRoot = parts.slice(0, at + 2).join(path.sep);
    const inPackage = parts.slice(at + 2);
    const isTest = inPackage.includes('test') || inPackage.includes('e2e');
    // A config file at the package's root (vitest.config.ts) may use the repository's own tooling.
    const isRootConfig = inPackage.length === 1;
    const toolsDir = parts.slice(0, at).concat('tools').join(path.sep);

    function check(node, source) {
      if (typeof source !== 'string') return;
      if (source.startsWith('.')) {
        const target = path.resolve(path.dirname(filename), source);
        const inside = target === packageRoot || target.startsWith(packageRoot + path.sep);
        if (!inside && isRootConfig && target.startsWith(toolsDir + path.sep)) return;
        if (!inside) {
          context.report({ node, message: `'${source}' reaches into another package's files; import it by its package name instead.` });
        } else if (target.split(path.sep).includes('dist')) {
          context.report({ node, message: `'${source}' imports built output; import the source module instead.` });
        }
        return;
      }
      const dep = packageFolderOf(source);
      if (dep === null) return;
      const subpath = source.slice(source.indexOf(dep) + dep.length);
      if (subpath && !(dep === 'test-utils' && subpath.startsWith('/fixtures/'))) {
        context.report({ node, message: `'${source}' is a deep import; import from '${source.slice(0, source.length - subpath.length)}' (its package entry) only.` });
        return;
      }
      if (group === 'apps' || dep === folder) return;
      if (isTest && (dep === 'test-utils' || (TEST_ONLY_DEPS[folder] ?? []).includes(dep))) return;
      const allowed = ALLOWED_DEPS[folder] ?? [];
      if (!allowed.includes(dep)) {
        context.report({
          node,
          message: `@tsgrad/${folder} may not import '${source}': the dependency direction (DEVELOPERS.md) allows ${allowed.length ? allowed.map((d) => `@tsgrad/${d}`).join(', ') : 'no other package'}.`,
        });
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default { rules: { 'package-boundaries': rule } };
