// @rapo/files: atomic writes leave no temporary file behind and replace the old contents whole;
// JSONL reading skips and reports a torn last line, cuts it off on request, and names the file
// and line of a bad line in the middle.
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendJsonl, readJsonl, toJsonl, writeFileAtomic, writeJsonAtomic, writeJsonlAtomic, type TornLine } from './index.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'rapo-files-'));

describe('writeFileAtomic', () => {
  it('replaces a file whole, creates missing folders and leaves no temporary file', () => {
    const dir = tempDir();
    const path = join(dir, 'a', 'b', 'out.txt');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, 'second');
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['out.txt']);
    writeFileAtomic(path, Uint8Array.of(104, 105));
    expect(readFileSync(path, 'utf8')).toBe('hi');
  });

  it('removes its temporary file and throws when the rename fails, leaving the target as it was', () => {
    const dir = tempDir();
    const path = join(dir, 'taken');
    mkdirSync(path); // a file cannot be renamed over a folder
    expect(() => writeFileAtomic(path, 'x')).toThrow(/EISDIR|EPERM|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('writeJsonAtomic writes indented JSON with a final newline', () => {
    const path = join(tempDir(), 'v.json');
    writeJsonAtomic(path, { a: [1, 2] });
    expect(readFileSync(path, 'utf8')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}\n');
  });
});

describe('JSONL', () => {
  it('toJsonl, appendJsonl and writeJsonlAtomic write one line per row', () => {
    expect(toJsonl([{ a: 1 }, 'x'])).toBe('{"a":1}\n"x"\n');
    expect(toJsonl([])).toBe('');
    const path = join(tempDir(), 'log.jsonl');
    appendJsonl(path, []);
    expect(readFileSync(path, 'utf8')).toBe(''); // created, even for no rows
    appendJsonl(path, [{ step: 1 }]);
    appendJsonl(path, [{ step: 2 }, { step: 3 }]);
    expect(readJsonl(path)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    writeJsonlAtomic(path, [{ step: 1 }]);
    expect(readFileSync(path, 'utf8')).toBe('{"step":1}\n');
  });

  it('readJsonl gives no rows for a missing file and skips blank lines', () => {
    const dir = tempDir();
    expect(readJsonl(join(dir, 'none.jsonl'))).toEqual([]);
    const path = join(dir, 'blank.jsonl');
    writeFileSync(path, '{"a":1}\n\n  \n{"a":2}\n');
    expect(readJsonl(path)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('skips and reports a torn last line, and cuts it off the file when asked', () => {
    const path = join(tempDir(), 'torn.jsonl');
    writeFileSync(path, '{"a":1}\n{"a":2}\n');
    appendFileSync(path, '{"a": 3, "cut-by-a-cra');
    const torn: TornLine[] = [];
    expect(readJsonl(path, { onTornLine: (t) => torn.push(t) })).toEqual([{ a: 1 }, { a: 2 }]);
    expect(torn).toEqual([{ path, line: 3, text: '{"a": 3, "cut-by-a-cra' }]);
    expect(readFileSync(path, 'utf8')).toContain('cut-by'); // left alone without cutTornLine
    expect(readJsonl(path, { cutTornLine: true })).toEqual([{ a: 1 }, { a: 2 }]);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    appendJsonl(path, [{ a: 3 }]);
    expect(readJsonl(path)).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('counts a last line without its newline as torn even when it parses', () => {
    const path = join(tempDir(), 'unterminated.jsonl');
    writeFileSync(path, '{"a":1}\n{"a":2}');
    let torn: TornLine | undefined;
    expect(readJsonl(path, { onTornLine: (t) => (torn = t) })).toEqual([{ a: 1 }]);
    expect(torn?.line).toBe(2);
  });

  it('throws naming the file and line for a bad line in the middle', () => {
    const path = join(tempDir(), 'bad.jsonl');
    writeFileSync(path, '{"a":1}\n{oops\n{"a":3}\n');
    expect(() => readJsonl(path)).toThrow(`${path}:2 is not a JSON record`);
    expect(() => readJsonl(path, { what: 'case record' })).toThrow(`${path}:2 is not a JSON case record`);
  });

  it('runs check on every row with its place, and its error stops the read', () => {
    const path = join(tempDir(), 'checked.jsonl');
    writeFileSync(path, '{"id":"a"}\n{"n":1}\n');
    const check = (v: unknown, where: string) => {
      if (typeof (v as { id?: unknown }).id !== 'string') throw new Error(`${where} has no id`);
      return v as { id: string };
    };
    expect(() => readJsonl(path, { check })).toThrow(`${path}:2 has no id`);
    writeFileSync(path, '{"id":"a"}\n');
    expect(readJsonl(path, { check })).toEqual([{ id: 'a' }]);
  });
});
