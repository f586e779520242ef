// Lists every exported function, constructor and public method (namespaces such as `functional`,
// `init` and `lrScheduler` included) that takes an option bag, with the bag's keys, read from the
// types through the TypeScript compiler. tools/test/options-coverage.test.js checks that each one has
// a row in packages/tsgrad/test/option-inputs.ts and that a misspelling of each key is an Error naming
// the function and that key; `node tools/options-coverage.js` prints the list.
import path from 'node:path';
import ts from 'typescript';
import { PUBLIC_PACKAGES } from './doc-coverage.js';

const root = path.resolve(import.meta.dirname, '..');

/**
 * Object parameters that are not option bags: data the function works on (state records, program
 * descriptions, hyperparameters resolved by an optimizer), or a backend's internals. Keyed
 * `api#parameter`; each needs its reason.
 */
export const NOT_OPTION_BAGS = {
  'optim.new Optimizer#defaults': "a subclass's option schema (every optimizer's constructor checks the user's bag against it)",
  'optim.LBFGS.addParamGroup#group': 'LBFGS takes no parameter groups: addParamGroup always throws',
  'autograd.new Tensor#version': 'the version counter a view shares with its base (the constructor is the backends\' seam)',
  'optim.Optimizer.loadStateDict#sd': 'a serialized state dict, checked by loadStateDict itself',
  'optim.decayFlags#h': "an optimizer's resolved hyperparameters (internal to the update programs)",
  'optim.decayMultiplier#h': "an optimizer's resolved hyperparameters",
  'optim.decayScalars#h': "an optimizer's resolved hyperparameters",
  'optim.decayPrologue#f': 'flags that decayFlags returned',
  'webgpu.new WebGPUBackend#owners': 'the device that initWebGPU acquired (initWebGPU is the public door)',
  'webgpu.new WebGPUBackend#limits': "the adapter's limits, read by initWebGPU",
  'tensor.checkRepresentable#opts': "where the value sits and whether it is a fill, set by the creation and fill ops that call it once per value (their own bags are checked)",
  'tensor.roundsOnRead#v': "a View or a Tensor, whose dtype and storage's dtype it reads (the Backend contract)",
  'autograd.fusedAttention#opts': "the fused kernel's settings, resolved by F.scaledDotProductAttention (the public door); keys checked, but it runs only where a device has fused attention",
};
/** Object types that are data wherever they appear: the backend contract's tensors and programs. */
export const NOT_OPTION_TYPES = {
  View: "a tensor's storage, shape and strides (the Backend contract)",
  Storage: "a device buffer's handle (the Backend contract)",
  ProgramSource: 'an optimizer program as written (validated by defineProgram itself)',
  ElementwiseProgram: 'a program that defineProgram built',
  ElementwiseKernel: "a declared op's kernel that forwardKernel or gradKernel built",
  Expr: 'an expression tree of the expression language',
  AttentionInputs: "the fused attention's operand views (the Backend contract)",
  AttentionOptions: "the fused attention's resolved scale and causal flag (the Backend contract)",
  AttentionSaved: "what the fused attention's backward reads (the Backend contract)",
  LayerNormInputs: "the layer norm's operand views (the Backend contract)",
  LayerNormSaved: "what the layer norm's backward reads (the Backend contract)",
  LayerNormNeeds: "which of the layer norm's gradients autograd asks for (the Backend contract)",
  SavedContext: "what a graph node saved at forward time for its gradient rule (the node's own record)",
};

// Reference update loops take the parameter's state record and the step's resolved hyperparameters:
// data, not settings (`sgdReference(p, g, state, h)`).
const isReferenceStep = (api, param) => /^optim\.[a-z]+Reference$/.test(api) && ['s', 'h', '__2'].includes(param);

/**
 * The function a `const` export is: an arrow or function expression, or the one autocast's op wrapper
 * takes (`export const matmul = autocastOp('matmul', (a, b) => ...)`): its parameters are the export's.
 */
function functionOf(init) {
  if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
  const wrapper = ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === 'autocastOp';
  const last = wrapper ? init.arguments[init.arguments.length - 1] : undefined;
  return last && (ts.isArrowFunction(last) || ts.isFunctionExpression(last)) ? last : null;
}

/** The string literals a key's type allows (`'fan_in' | 'fan_out'`, null and undefined aside); empty for any other type. */
function stringValues(checker, symbol, at) {
  const type = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(symbol, at));
  const parts = type.isUnion() ? type.types : [type];
  const literals = parts.filter((t) => t.isStringLiteral()).map((t) => t.value);
  // `'lr' | 'schedule'` is a choice of values; `'tanh' | { approximate }` or `string` is not one (the bag's own keys are read apart).
  return literals.length > 0 && parts.every((t) => t.isStringLiteral() || t.flags & ts.TypeFlags.BooleanLiteral) ? literals : [];
}

/** The object types a bag's type is made of (through a generic's constraint, unions and intersections). */
function bagParts(checker, type) {
  const constraint = type.flags & ts.TypeFlags.TypeParameter ? checker.getBaseConstraintOfType(type) : type;
  if (!constraint) return [];
  const t = checker.getNonNullableType(constraint);
  if (t.isUnion() || t.isIntersection()) return t.types.flatMap((u) => bagParts(checker, u));
  return t.flags & ts.TypeFlags.Object ? [t] : [];
}

/** For each key of a bag whose type is a choice of strings, those strings: `{ mode: ['fan_in', 'fan_out'] }`. */
function bagValues(checker, type, at) {
  const values = {};
  for (const part of bagParts(checker, type)) {
    for (const p of checker.getPropertiesOfType(part)) {
      const v = stringValues(checker, p, at);
      if (v.length > 0) values[p.getName()] = [...new Set([...(values[p.getName()] ?? []), ...v])];
    }
  }
  return values;
}

/** A parameter type that is an option bag: a type literal or interface of ours holding data (no methods). */
function bagKeys(checker, type) {
  // A generic parameter (`opts: O`) is read through its constraint.
  const constraint = type.flags & ts.TypeFlags.TypeParameter ? checker.getBaseConstraintOfType(type) : type;
  if (!constraint) return null;
  const t = checker.getNonNullableType(constraint);
  if (t.isUnion()) {
    // `'tanh' | { approximate }` (a bare value or the bag) is a bag; `Tensor | number` is not.
    const objects = t.types.filter((u) => !(u.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike)));
    const parts = objects.map((u) => bagKeys(checker, u));
    return parts.length === 0 || parts.some((p) => p === null) ? null : [...new Set(parts.flat())];
  }
  if (t.isIntersection()) {
    const parts = t.types.map((u) => bagKeys(checker, u));
    return parts.some((p) => p === null) ? null : [...new Set(parts.flat())];
  }
  if (!(t.flags & ts.TypeFlags.Object) || checker.isArrayType(t) || checker.isTupleType(t)) return null;
  if (t.getCallSignatures().length > 0 || t.getConstructSignatures().length > 0) return null;
  if (t.getSymbol()?.flags & ts.SymbolFlags.Class) return null;
  const props = checker.getPropertiesOfType(t);
  // Ours: every key declared in a package (a literal, an interface, `Partial<...>` of one), not Map, Iterable, Blob, ...
  const inPackages = (p) => (p.declarations ?? []).length > 0 && p.declarations.every((d) => !d.getSourceFile().fileName.includes('node_modules'));
  if (props.length === 0 || !props.every(inPackages)) return null;
  const isMethod = (p) => p.flags & ts.SymbolFlags.Method || (p.valueDeclaration && ts.isMethodSignature(p.valueDeclaration));
  if (props.some(isMethod)) return null;
  return props.map((p) => p.getName());
}

/**
 * @returns {{ pkg: string, api: string, param: string, type?: string, keys: string[], values: Record<string, string[]>, exempt?: string }[]}
 * one entry per object parameter; `values` holds, for each key typed as a choice of strings, those strings; `api` is `pkg.name`, `pkg.Class.method`, `pkg.new Class` or
 * `pkg.namespace.name`; `exempt` holds the reason when it is not an option bag (NOT_OPTION_BAGS, NOT_OPTION_TYPES).
 */
export function optionsApi() {
  const entries = PUBLIC_PACKAGES.map((p) => path.join(root, 'packages', p, 'src', 'index.ts'));
  // Packages resolve to their sources (as in tsconfig.test.base.json), whether or not dist/ is built.
  const paths = { '@tsgrad/*': [path.join(root, 'packages/*/src/index.ts')], tsgrad: [path.join(root, 'packages/tsgrad/src/index.ts')] };
  const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], types: ['node'], module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, paths, noEmit: true, skipLibCheck: true, strict: true });
  const checker = program.getTypeChecker();
  const items = [];
  const seen = new Set();
  const visitSignature = (pkg, api, decl) => {
    const signature = checker.getSignatureFromDeclaration(decl);
    for (const param of signature?.parameters ?? []) {
      const type = checker.getTypeOfSymbolAtLocation(param, decl);
      const keys = bagKeys(checker, type);
      const name = param.getName();
      if (keys === null) continue;
      const typeName = (checker.getNonNullableType(type).aliasSymbol ?? checker.getNonNullableType(type).getSymbol())?.getName();
      const exempt = NOT_OPTION_BAGS[`${api}#${name}`] ?? NOT_OPTION_TYPES[typeName] ?? (isReferenceStep(api, name) ? 'a reference step\'s state or hyperparameters' : undefined);
      // Overloads list one parameter once, with the keys of all of them.
      const values = bagValues(checker, type, decl);
      const known = items.find((i) => i.api === api && i.param === name);
      if (known) {
        known.keys = [...new Set([...known.keys, ...keys])];
        for (const [k, v] of Object.entries(values)) known.values[k] = [...new Set([...(known.values[k] ?? []), ...v])];
      } else items.push({ pkg, api, param: name, type: typeName, keys, values, ...(exempt ? { exempt } : {}) });
    }
  };
  const visitModule = (pkg, moduleSymbol, prefix) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decls = (symbol.declarations ?? []).filter((d) => !d.getSourceFile().fileName.includes('node_modules'));
      if (decls.length === 0 || seen.has(symbol)) continue;
      // Re-exports (tsgrad re-exports every package) count once, under the package that defines them.
      if (!decls[0].getSourceFile().fileName.includes(`/packages/${pkg}/`)) continue;
      seen.add(symbol);
      const name = `${prefix}${exported.getName()}`;
      if (decls.some(ts.isSourceFile)) {
        visitModule(pkg, symbol, `${name}.`); // `export * as functional from ...`
        continue;
      }
      for (const d of decls) {
        if (ts.isFunctionDeclaration(d)) visitSignature(pkg, `${pkg}.${name}`, d);
        else if (ts.isVariableDeclaration(d) && d.initializer && functionOf(d.initializer)) visitSignature(pkg, `${pkg}.${name}`, functionOf(d.initializer));
        else if (ts.isClassDeclaration(d)) visitClass(pkg, d, name);
      }
    }
  };
  const visitClass = (pkg, d, name) => {
    for (const m of d.members) {
      if (ts.isConstructorDeclaration(m)) visitSignature(pkg, `${pkg}.new ${name}`, m);
      else if (ts.isMethodDeclaration(m) && m.name && ts.isIdentifier(m.name) && !m.name.text.startsWith('_') && !(ts.getCombinedModifierFlags(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))) {
        visitSignature(pkg, `${pkg}.${name}.${m.name.text}`, m);
      }
    }
    // A base class that is not exported still lends its public methods and constructor to this one.
    const type = checker.getTypeAtLocation(d);
    for (const base of checker.getBaseTypes(type)) {
      const symbol = base.getSymbol();
      const decl = symbol?.declarations?.find(ts.isClassDeclaration);
      if (!decl || seen.has(symbol) || decl.getSourceFile().fileName.includes('node_modules')) continue;
      seen.add(symbol);
      visitClass(pkg, decl, symbol.getName());
    }
  };
  for (const [i, entry] of entries.entries()) visitModule(PUBLIC_PACKAGES[i], checker.getSymbolAtLocation(program.getSourceFile(entry)), '');
  return items;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const items = optionsApi();
  for (const i of items) console.log(`${i.api}(${i.param}): ${i.keys.map((k) => (i.values[k] ? `${k} ${i.values[k].map((v) => `'${v}'`).join('|')}` : k)).join(', ')}${i.exempt ? `  [not an option bag: ${i.exempt}]` : ''}`);
  console.log(`${items.filter((i) => !i.exempt).length} option bags`);
}
