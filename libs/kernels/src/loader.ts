// Finds and loads the native addon, and refuses a stale one. The binary records a hash of the
// native sources it was built from (native/cmake/source_hash.cmake); when those sources are
// present (a checkout), the same hash is computed here and must match.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawAddon } from './native-types.js';
import { withOpenBlasCore } from './openblas-core.js';

export const BUILD_COMMAND = 'npm run build:native';

/** Thrown when the addon is missing, stale or fails to load; the message says how to fix it. */
export class NativeAddonError extends Error {
  override name = 'NativeAddonError';
}

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's native/ folder when running from a checkout (libs/kernels/src/..). */
export function nativeSourceDir(): string | undefined {
  const dir = resolve(here, '..', '..', '..', 'native');
  return existsSync(join(dir, 'CMakeLists.txt')) ? dir : undefined;
}

/**
 * Where the addon is looked for, in order: RAPO_NATIVE_PATH alone when set; else the binary a
 * bundled app ships next to its entry point (apps/<app>/dist/rapo.node: the one the bundle was
 * built with, so editing native/ while a bundled run goes on does not change what its child
 * processes load); else the checkout's build folder.
 */
export function addonCandidates(entryPoint: string | undefined = process.argv[1]): string[] {
  if (process.env.RAPO_NATIVE_PATH) return [resolve(process.env.RAPO_NATIVE_PATH)];
  const list: string[] = [];
  if (entryPoint) list.push(join(dirname(resolve(entryPoint)), 'rapo.node'));
  const src = nativeSourceDir();
  if (src) list.push(join(src, 'build', 'Release', 'rapo.node'), join(src, 'build', 'Debug', 'rapo.node'));
  return list;
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** The hash native/cmake/source_hash.cmake computes, over the same files. */
export function nativeSourceHash(nativeDir: string): string {
  const files: string[] = [];
  walk(join(nativeDir, 'include'), files);
  walk(join(nativeDir, 'src'), files);
  const rel = files.map((f) => relative(nativeDir, f).split(sep).join('/'));
  rel.push('CMakeLists.txt');
  rel.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = rel
    .map(
      (f) =>
        `${f} ${createHash('sha256')
          .update(readFileSync(join(nativeDir, f)))
          .digest('hex')}\n`,
    )
    .join('');
  return createHash('sha256').update(lines).digest('hex');
}

interface LoadResult {
  addon?: RawAddon;
  error?: NativeAddonError;
  path?: string;
}

let cached: LoadResult | undefined;

/** Loads the addon once; throws NativeAddonError (missing, stale, unloadable) with the fix. */
export function loadNative(): RawAddon {
  if (!cached) cached = tryLoad();
  if (cached.error) throw cached.error;
  return cached.addon!;
}

/** Path of the loaded addon, or undefined when it did not load. */
export function nativePath(): string | undefined {
  if (!cached) cached = tryLoad();
  return cached.path;
}

function tryLoad(): LoadResult {
  const list = addonCandidates();
  const path = list.find((p) => existsSync(p));
  if (!path) {
    return {
      error: new NativeAddonError(
        `The rapo native addon is not built (looked for ${list.join(', ')}). ` +
          `Run \`${BUILD_COMMAND}\` at the repository root (RAPO_CUDA=OFF ${BUILD_COMMAND} for a CPU-only build), ` +
          'or set RAPO_DEVICE=js to use the TypeScript kernels.',
      ),
    };
  }
  // A binary inside the checkout's build folder must match the checkout's sources.
  const src = nativeSourceDir();
  return loadFrom(path, src && path.startsWith(src + sep) ? src : undefined);
}

/**
 * Loads the addon at `path`; when `sourceDir` is given, the binary must have been built from
 * exactly the sources there.
 */
export function loadFrom(path: string, sourceDir?: string): LoadResult {
  let addon: RawAddon;
  try {
    addon = withOpenBlasCore(() => createRequire(import.meta.url)(path) as RawAddon);
  } catch (e) {
    return {
      path,
      error: new NativeAddonError(`The rapo native addon at ${path} failed to load: ${(e as Error).message}. ` + `Rebuild it with \`${BUILD_COMMAND}\`.`),
    };
  }
  if (sourceDir && nativeSourceHash(sourceDir) !== addon.buildInfo().sourceHash) {
    return {
      path,
      error: new NativeAddonError(
        `The rapo native addon at ${path} is stale: it was built from other sources than those in ${sourceDir}. ` + `Run \`${BUILD_COMMAND}\` to rebuild it.`,
      ),
    };
  }
  return { addon, path };
}

/** For tests: forget the cached load so the next call looks again. */
export function resetNativeCache(): void {
  cached = undefined;
}
