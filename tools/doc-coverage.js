// Lists the public API of each package (what its src/index.ts exports) and whether each exported
// function and class, and each public method of an exported class, has an `@example` in its doc
// comment, namespaces (`export * as functional`) included. Used by tools/test/doc-coverage.test.js;
// `node tools/doc-coverage.js` prints the gaps.
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
export const PUBLIC_PACKAGES = ['tensor', 'autograd', 'nn', 'optim', 'param-groups', 'webgpu', 'tsgrad'];

const hasExample = (node) => ts.getJSDocTags(node).some((t) => t.tagName.text === 'example');
const isFunctionLike = (decl) =>
  ts.isFunctionDeclaration(decl) || (ts.isVariableDeclaration(decl) && decl.initializer && (ts.isArrowFunction(decl.initializer) || ts.isFunctionExpression(decl.initializer)));

/** The file and 1-based line of a declaration, and whether it has a doc comment. */
function where(node) {
  const file = node.getSourceFile();
  const line = file.getLineAndCharacterOfPosition(node.getStart(file, false)).line + 1;
  return { file: path.relative(root, file.fileName), line, documented: ts.getJSDocCommentsAndTags(node).length > 0 };
}

/**
 * @returns {{ pkg: string, name: string, kind: 'function' | 'class' | 'method', example: boolean }[]} `name` is
 * `fn`, `Class`, `Class.method`, or with a namespace's prefix (`functional.relu`, `lrScheduler.StepLR.step`).
 */
export function publicApi() {
  const entries = PUBLIC_PACKAGES.map((p) => path.join(root, 'packages', p, 'src', 'index.ts'));
  // Packages resolve to their sources (as in tsconfig.test.base.json), whether or not dist/ is built.
  const paths = { '@tsgrad/*': [path.join(root, 'packages/*/src/index.ts')], tsgrad: [path.join(root, 'packages/tsgrad/src/index.ts')] };
  const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, paths, allowJs: false, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const seen = new Set();
  const items = [];
  const visitModule = (pkg, moduleSymbol, prefix) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decls = (symbol.declarations ?? []).filter((d) => !d.getSourceFile().fileName.includes('node_modules'));
      if (decls.length === 0 || seen.has(symbol)) continue;
      // Re-exports (tsgrad re-exports every package) count once, under the package that defines them.
      const home = decls[0].getSourceFile().fileName;
      if (!home.includes(`/packages/${pkg}/`)) continue;
      seen.add(symbol);
      const name = `${prefix}${exported.getName()}`;
      if (decls.some(ts.isSourceFile)) {
        visitModule(pkg, symbol, `${name}.`); // `export * as functional from ...`: each of its exports is public API
        continue;
      }
      if (decls.some(isFunctionLike)) {
        const node = ts.isVariableDeclaration(decls[0]) ? decls[0].parent.parent : decls.find((d) => ts.getJSDocCommentsAndTags(d).length > 0) ?? decls[decls.length - 1];
        items.push({ pkg, name, kind: 'function', example: decls.some((d) => hasExample(ts.isVariableDeclaration(d) ? d.parent.parent : d)), ...where(node) });
      } else if (decls.some(ts.isClassDeclaration)) {
        const cls = decls.find(ts.isClassDeclaration);
        items.push({ pkg, name, kind: 'class', example: hasExample(cls), ...where(cls) });
        const methods = new Map();
        for (const m of cls.members) {
          if (!(ts.isMethodDeclaration(m) || ts.isGetAccessor(m)) || !m.name || !ts.isIdentifier(m.name)) continue;
          const flags = ts.getCombinedModifierFlags(m);
          if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
          if (m.name.text.startsWith('_')) continue;
          const prev = methods.get(m.name.text);
          // Overloads: one example on any signature documents the method; the first documented one locates it.
          const here = { example: hasExample(m), ...where(m) };
          if (!prev) methods.set(m.name.text, here);
          else methods.set(m.name.text, { ...(prev.documented || !here.documented ? prev : here), example: prev.example || here.example });
        }
        for (const [method, info] of methods) items.push({ pkg, name: `${name}.${method}`, kind: 'method', ...info });
      }
    }
  };
  for (const [i, entry] of entries.entries()) visitModule(PUBLIC_PACKAGES[i], checker.getSymbolAtLocation(program.getSourceFile(entry)), '');
  return items;
}

const DEFAULT_TAGS = new Set(['defaultValue', 'default']);

/** An options bag's fields: an interface's properties, or a type literal's (`type X = A & { ... }` included). */
function optionMembers(decl) {
  if (ts.isInterfaceDeclaration(decl)) return decl.members;
  if (!ts.isTypeAliasDeclaration(decl)) return [];
  const literals = (t) => (ts.isTypeLiteralNode(t) ? [t] : ts.isIntersectionTypeNode(t) ? t.types.flatMap(literals) : []);
  return literals(decl.type).flatMap((t) => t.members);
}

/**
 * Every field of every exported options bag (an interface or type named `...Options`), with whether it
 * has a description and, when optional, its default (`@defaultValue`, which TypeDoc shows). Counted
 * once, under the package that defines it, as in `publicApi`.
 * @returns {{ pkg: string, name: string, file: string, line: number, description: boolean, optional: boolean, required: boolean, default: boolean }[]}
 */
export function optionFields() {
  const entries = PUBLIC_PACKAGES.map((p) => path.join(root, 'packages', p, 'src', 'index.ts'));
  const paths = { '@tsgrad/*': [path.join(root, 'packages/*/src/index.ts')], tsgrad: [path.join(root, 'packages/tsgrad/src/index.ts')] };
  const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, paths, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const seen = new Set();
  const fields = [];
  const visit = (pkg, moduleSymbol, prefix) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decls = (symbol.declarations ?? []).filter((d) => !d.getSourceFile().fileName.includes('node_modules'));
      if (decls.length === 0 || seen.has(symbol) || !decls[0].getSourceFile().fileName.includes(`/packages/${pkg}/`)) continue;
      seen.add(symbol);
      const name = `${prefix}${exported.getName()}`;
      if (decls.some(ts.isSourceFile)) {
        visit(pkg, symbol, `${name}.`);
        continue;
      }
      if (!name.endsWith('Options')) continue;
      for (const m of decls.flatMap(optionMembers)) {
        if (!ts.isPropertySignature(m) || !m.name) continue;
        const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
        const text = docs.map((d) => (typeof d.comment === 'string' ? d.comment : ts.getTextOfJSDocComment(d.comment) ?? '')).join(' ').trim();
        const description = text !== '';
        const hasDefault = ts.getJSDocTags(m).some((t) => DEFAULT_TAGS.has(t.tagName.text));
        const { file, line } = where(m);
        fields.push({ pkg, name: `${name}.${m.name.getText()}`, file, line, description, optional: Boolean(m.questionToken), required: /^Required\b/.test(text), default: hasDefault });
      }
    }
  };
  for (const [i, entry] of entries.entries()) visit(PUBLIC_PACKAGES[i], checker.getSymbolAtLocation(program.getSourceFile(entry)), '');
  return fields;
}

/**
 * A field's documentation gap, or null: every field needs a description and a `@defaultValue`, except
 * a required field whose description starts with "Required" (it has no default).
 */
export function optionFieldGap(f) {
  const gaps = [!f.description && 'no description', !f.default && !(!f.optional && f.required) && 'no @defaultValue'].filter(Boolean);
  return gaps.length ? `${f.pkg}: ${f.name} (${f.file}:${f.line}): ${gaps.join(', ')}` : null;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  if (process.argv.includes('--options')) {
    const fields = optionFields();
    const gaps = fields.map(optionFieldGap).filter(Boolean);
    console.log(`option fields: ${fields.length - gaps.length} of ${fields.length} have a description and (optional ones) a @defaultValue`);
    for (const g of gaps) console.log(`  ${g}`);
    process.exit(0);
  }
  const items = publicApi();
  for (const kind of ['function', 'class', 'method']) {
    const all = items.filter((i) => i.kind === kind);
    const missing = all.filter((i) => !i.example);
    console.log(`${kind}s: ${all.length - missing.length} of ${all.length} have an @example`);
    if (process.argv.includes('--list')) for (const m of missing) console.log(`  ${m.pkg}: ${m.name}${m.file ? ` ${m.file}:${m.line}${m.documented ? '' : ' (no doc comment)'}` : ''}`);
  }
}
