// Files a run writes: whole files atomically (temporary file, then rename), and cases.jsonl one
// line per finished case, whose torn last line (a crash mid-write) is cut off on the next start.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CaseRecord } from './types.js';

export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * The records in a cases.jsonl, the last one per case id winning (a case retried after a call
 * error appends a new record). A torn last line is removed from the file; a malformed line
 * elsewhere is an error naming the file and line.
 */
export function readCases(path: string): Map<string, CaseRecord> {
  const records = new Map<string, CaseRecord>();
  if (!existsSync(path)) return records;
  const text = readFileSync(path, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, complete)));
  const lines = text.slice(0, complete).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let r: CaseRecord;
    try {
      r = JSON.parse(line) as CaseRecord;
    } catch (e) {
      throw new Error(`${path}:${i + 1} is not a JSON case record (${(e as Error).message}); remove that line to rerun the case`);
    }
    if (typeof r.id !== 'string') throw new Error(`${path}:${i + 1} has no case id`);
    records.set(r.id, r);
  }
  return records;
}

export function appendCase(path: string, record: CaseRecord): void {
  appendFileSync(path, JSON.stringify(record) + '\n');
}
