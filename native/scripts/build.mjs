#!/usr/bin/env node
// Builds the addon with cmake-js, offline: Node's own headers are used when they are installed
// next to the node binary (as on Debian's nodejs and the official tarballs), so cmake-js never
// downloads them. Options come from the environment:
//   RAPO_CUDA=AUTO|ON|OFF   (default AUTO: CUDA when nvcc is found)
//   RAPO_CUDA_ARCHS=...     (CUDA architectures, e.g. "90" for Hopper only)
//   RAPO_BLAS=AUTO|openblas|none (default AUTO: the CPU matmul uses OpenBLAS when found)
//   RAPO_BUILD_TYPE=Release|Debug|RelWithDebInfo
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
const blas = (env.RAPO_BLAS ?? 'AUTO').toLowerCase();
if (!['auto', 'openblas', 'none'].includes(blas)) {
  console.error(`RAPO_BLAS must be AUTO, openblas or none, got "${env.RAPO_BLAS}"`);
  process.exit(2);
}
const options = ['--directory', nativeDir, '--out', 'build', `--CDRAPO_CUDA=${mode}`, `--CDRAPO_BLAS=${blas}`];
if (env.RAPO_CUDA_ARCHS) options.push(`--CDRAPO_CUDA_ARCHS=${env.RAPO_CUDA_ARCHS}`);
if (env.RAPO_BUILD_TYPE === 'Debug') options.push('--debug');
const jobs = env.CMAKE_BUILD_PARALLEL_LEVEL ?? String(Math.max(1, (await import('node:os')).availableParallelism()));
env.CMAKE_BUILD_PARALLEL_LEVEL = jobs;

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
console.log(`rapo: building the native addon (RAPO_CUDA=${mode}${env.RAPO_CUDA_ARCHS ? `, archs ${env.RAPO_CUDA_ARCHS}` : ''}, RAPO_BLAS=${blas})`);
// `cmake-js compile` reuses an existing CMake cache as it is, so a changed option (RAPO_BLAS=none
// after an OpenBLAS build, say) would be ignored: when the options differ from the last
// configure, configure again (object files that did not change are kept), then build.
const stamp = join(nativeDir, 'build', 'rapo-options.json');
const wanted = JSON.stringify(options);
const previous = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';
const run = (command) => spawnSync(process.execPath, [cmakeJs, command, ...options], { stdio: 'inherit', env, cwd: nativeDir });
let r;
if (previous === wanted) {
  r = run('compile');
} else {
  r = run('configure');
  if (r.status === 0) {
    writeFileSync(stamp, wanted);
    r = run('build');
  }
}
if (r.status !== 0) {
  console.error('rapo: native build failed; see the cmake output above. `RAPO_CUDA=OFF npm run build:native` builds the CPU kernels only.');
  process.exit(r.status ?? 1);
}
