#!/usr/bin/env node
// Bundles an app with esbuild: one ESM file for Node 20. tfjs and its backends stay external
// (their wasm files and native bindings are found at run time in node_modules), and so does the
// rapo addon, which the app's loader finds next to the bundle or in native/build. The @rapo
// libraries are bundled from their TypeScript sources (the "rapo-source" export condition), so an
// app builds without building the libraries first.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('Usage: node tools/build-app.mjs <entry.ts> <out.mjs>');
  process.exit(2);
}
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Setting conditions drops esbuild's implicit "module" condition: it is listed to keep resolving packages as before.
  conditions: ['rapo-source', 'module'],
  sourcemap: true,
  external: ['@tensorflow/*', '*.node'],
  banner: { js: "import { createRequire as __rapoRequire } from 'node:module'; const require = __rapoRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
// The addon beside the bundle: the loader looks there first when run from a bundle. Copied to a
// temporary name and renamed over the old one, so a process of the app that has the old addon
// loaded keeps its mapping (overwriting a loaded shared library in place crashes it).
const addon = resolve('native/build/Release/rapo.node');
if (existsSync(addon)) {
  mkdirSync(dirname(outfile), { recursive: true });
  const target = join(dirname(outfile), 'rapo.node');
  copyFileSync(addon, `${target}.tmp-${process.pid}`);
  renameSync(`${target}.tmp-${process.pid}`, target);
}
console.log(`built ${outfile}`);
