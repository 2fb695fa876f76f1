#!/usr/bin/env node
// Builds the addon with cmake-js, offline: Node's own headers are used when they are installed
// next to the node binary (as on Debian's nodejs and the official tarballs), so cmake-js never
// downloads them. Options come from the environment:
//   RAPO_CUDA=AUTO|ON|OFF   (default AUTO: CUDA when nvcc is found)
//   RAPO_CUDA_ARCHS=...     (CUDA architectures, e.g. "90" for Hopper only)
//   RAPO_BUILD_TYPE=Release|Debug|RelWithDebInfo
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const nativeDir = resolve(here, '..');
const require = createRequire(import.meta.url);

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
}

const mode = (env.RAPO_CUDA ?? 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(mode)) {
  console.error(`RAPO_CUDA must be AUTO, ON or OFF, got "${env.RAPO_CUDA}"`);
  process.exit(2);
}
const args = ['compile', '--directory', nativeDir, '--out', 'build', `--CDRAPO_CUDA=${mode}`];
if (env.RAPO_CUDA_ARCHS) args.push(`--CDRAPO_CUDA_ARCHS=${env.RAPO_CUDA_ARCHS}`);
if (env.RAPO_BUILD_TYPE === 'Debug') args.push('--debug');
const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL ?? String(Math.max(1, (await import('node:os')).availableParallelism()));
env.CMAKE_BUILD_PARALLEL_LEVEL = jobs;

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
console.log(`rapo: building the native addon (RAPO_CUDA=${mode}${env.RAPO_CUDA_ARCHS ? `, archs ${env.RAPO_CUDA_ARCHS}` : ''})`);
const r = spawnSync(process.execPath, [cmakeJs, ...args], { stdio: 'inherit', env, cwd: nativeDir });
if (r.status !== 0) {
  console.error('rapo: native build failed; see the cmake output above. `RAPO_CUDA=OFF npm run build:native` builds the CPU kernels only.');
  process.exit(r.status ?? 1);
}
