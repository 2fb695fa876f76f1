// Atomic whole-file writes: the bytes go to a temporary file in the same folder, which is then
// renamed over the target. A rename within one folder is atomic, so a reader (or a run resumed
// after a crash) sees either the old file or the new one, never half of either.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `data` to `path` atomically, creating the folder when it is missing. The temporary file
 * is `<path>.<pid>.<random>.tmp`, so two writers of the same path never share one; it is removed
 * again when the write or the rename fails, and the error is thrown unchanged.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes `value` as indented JSON with a final newline, atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
