#!/usr/bin/env node
// Builds one library for plain Node (what each lib's `build` target runs, after the builds of the
// libraries it imports): empties its dist/, compiles it with tsc -p <lib>/tsconfig.build.json, and
// checks that every file its package.json names for plain Node (main, types, and each export's
// types and default) was written, so a package that points at a file the build does not make fails
// here rather than in someone's `import`.
//   node tools/build-lib.mjs libs/<name>
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '..', '..');

/** The condition under which a package.json export points at TypeScript source (for the checkout only). */
const SOURCE_CONDITION = 'rapo-source';

/**
 * The files `pkg` (a parsed package.json) promises to plain Node and to TypeScript without the
 * source condition: main, types, and every export target under another condition, as paths
 * relative to the package. Throws when an export points at source outside the source condition.
 */
function builtFiles(pkg) {
  const files = new Set();
  for (const field of ['main', 'types']) if (typeof pkg[field] === 'string') files.add(pkg[field]);
  const visit = (entry, where) => {
    if (typeof entry === 'string') {
      if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) {
        throw new Error(`${pkg.name}: ${where} points at TypeScript source (${entry}); only the "${SOURCE_CONDITION}" condition may`);
      }
      files.add(entry);
    } else if (entry && typeof entry === 'object') {
      for (const [key, value] of Object.entries(entry)) if (key !== SOURCE_CONDITION) visit(value, `${where}[${JSON.stringify(key)}]`);
    }
  };
  if (pkg.exports !== undefined) visit(pkg.exports, 'exports');
  return [...files].sort();
}

function main(args) {
  if (args.length !== 1) {
    console.error('Usage: node tools/build-lib.mjs libs/<name>');
    process.exit(2);
  }
  const dir = resolve(root, args[0]);
  const config = join(dir, 'tsconfig.build.json');
  if (!existsSync(config) || !existsSync(join(dir, 'package.json'))) {
    console.error(`build-lib: ${args[0]} is not a library to build (it needs a package.json and a tsconfig.build.json)`);
    process.exit(2);
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  let expected;
  try {
    expected = builtFiles(pkg);
  } catch (e) {
    console.error(`build-lib: ${e.message}`);
    process.exit(1);
  }
  // A file whose source was deleted or renamed must not linger in dist/.
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      `build-lib: tsc failed for ${relative(root, dir)} (a library it imports must be built first: npx nx run ${pkg.name.replace('@rapo/', '')}:build does that)`,
    );
    process.exit(r.status ?? 1);
  }
  const missing = expected.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    console.error(
      `build-lib: ${relative(root, dir)}/package.json names ${missing.join(', ')}, which the build did not write; fix the exports or tsconfig.build.json`,
    );
    process.exit(1);
  }
  console.log(`built ${relative(root, dir)}/dist (${expected.length} entry files)`);
}

main(process.argv.slice(2));
