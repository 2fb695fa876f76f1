// cases.jsonl, the log of a run: one line per finished case, appended as cases finish, read back
// when the run is resumed. A torn last line (a crash mid-write) is cut off the file, so the next
// append starts on a line of its own; how the log is written and read lives in @rapo/files.
import { appendJsonl, readJsonl } from '@rapo/files';
import type { CaseRecord } from './types.js';

/**
 * The records in a cases.jsonl, the last one per case id winning (a case retried after a call
 * error appends a new record). A torn last line is removed from the file; a malformed line
 * elsewhere is an error naming the file and line.
 */
export function readCases(path: string): Map<string, CaseRecord> {
  const check = (value: unknown, where: string): CaseRecord => {
    if (typeof (value as Partial<CaseRecord> | null)?.id !== 'string') throw new Error(`${where} has no case id; remove that line to rerun the case`);
    return value as CaseRecord;
  };
  const records = new Map<string, CaseRecord>();
  for (const r of readJsonl(path, { cutTornLine: true, check, what: 'case record' })) records.set(r.id, r);
  return records;
}

export function appendCase(path: string, record: CaseRecord): void {
  appendJsonl(path, [record]);
}
