// JSONL logs (one JSON value per line): appended to as a run goes, read back when it resumes or
// when a report is drawn. A process killed mid-append leaves its last line cut short; that line
// is skipped (and reported to whoever asks), while a bad line anywhere else means the file was
// damaged some other way, and reading it is an error that names the file and the line.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

/** A final line without its newline: the record a crash interrupted. */
export interface TornLine {
  path: string;
  /** 1-based line number. */
  line: number;
  text: string;
}

export interface ReadJsonlOptions<T> {
  /** Called with the torn last line, when there is one (it is never among the rows). */
  onTornLine?: (torn: TornLine) => void;
  /** Cut the torn last line off the file too, so the next append starts on a line of its own. */
  cutTornLine?: boolean;
  /**
   * Checks one parsed line and returns it as a row; throw to reject it. `where` is
   * `<path>:<line>`, ready to start an error message with.
   */
  check?: (value: unknown, where: string) => T;
  /** What one line holds, for error messages ("case record"); default "record". */
  what?: string;
}

/** The JSONL text of `rows`: one line each, every line ended by a newline. */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/**
 * Appends `rows` to `path` in one write, creating the file when it is missing (even for no rows).
 * One write per call keeps a crash from interleaving half of one batch with the next.
 */
export function appendJsonl(path: string, rows: readonly unknown[]): void {
  appendFileSync(path, toJsonl(rows));
}

/** Replaces `path` with `rows` as JSONL, atomically (a resumed run cutting its logs back). */
export function writeJsonlAtomic(path: string, rows: readonly unknown[]): void {
  writeFileAtomic(path, toJsonl(rows));
}

/**
 * The rows of a JSONL file, in order; none when the file does not exist. Blank lines are
 * skipped. Text after the last newline is a torn line: it is skipped, passed to `onTornLine`,
 * and with `cutTornLine` removed from the file. Any other line that is not JSON (or that `check`
 * rejects) throws an Error naming `<path>:<line>`.
 */
export function readJsonl<T = unknown>(path: string, options: ReadJsonlOptions<T> = {}): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, complete).split('\n');
  lines.pop(); // the empty string after the last newline
  if (complete < text.length) {
    if (options.cutTornLine) truncateSync(path, Buffer.byteLength(text.slice(0, complete)));
    options.onTornLine?.({ path, line: lines.length + 1, text: text.slice(complete) });
  }
  const what = options.what ?? 'record';
  const rows: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const where = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(
        `${where} is not a JSON ${what} (${(e as Error).message}). Only the last line of a JSONL file can be cut short by a crash; this one is in the middle, so the file was damaged some other way: fix or remove that line and rerun.`,
        { cause: e },
      );
    }
    rows.push(options.check ? options.check(value, where) : (value as T));
  }
  return rows;
}
