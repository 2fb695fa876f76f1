// Reading CoSER test files (data/test/test_set.json, example_test_set.json): a JSON array of
// "given circumstances", each a scene of a book with its scenario, its characters and the
// original conversation. Two variants exist and both are read:
//   - key_characters[].thought (test_set.json) or key_characters[].motivation
//     (example_test_set.json): the character's inner state in this scene;
//   - plot.text (example set only): the book text of the plot, beside plot.summary.
// A case id is "<book>-<plot.i_p>-<i_c>", the key the authors' own evaluation output uses
// (e.g. "King Lear-17-0"), so it is stable across runs; a repeat within a file gets "#2", "#3"...
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CoserItem, Lang } from '@rapo/psycot';

export const ENVIRONMENT = 'Environment';

export interface CoserDialogueLine {
  character: string;
  /** Speech, with [thoughts] and (actions) inline, as in the book-derived data. */
  message: string;
}

/** The fields of a CoSER test item this protocol reads (others are kept, untouched). */
export interface CoserTestItem extends CoserItem {
  book: string;
  scenario: string;
  topic?: string;
  key_characters: { name: string; thought?: string; motivation?: string }[];
  dialogues: CoserDialogueLine[];
  /** The characters who speak in the original conversation (Environment among them when it speaks). */
  speaking_characters_w_env: string[];
  major_characters: string[];
  plot: {
    i_p: number;
    summary?: string;
    text?: string;
    chapter?: string;
    key_characters: { name: string; description?: string; summary?: string; experience?: string }[];
  };
  character_profiles: Record<string, string>;
  i_c: number;
  /** "id" (books seen in CoSER training) or "ood". */
  tag?: string;
}

export interface CoserCase {
  id: string;
  /** The file the case came from, and its 0-based position there. */
  file: string;
  index: number;
  lang: Lang;
  item: CoserTestItem;
  /** Each key character's inner state in this scene (thought or motivation, whichever the file has). */
  motives: Record<string, string>;
}

/** Thrown for a file or item that cannot be used; the message names the file, the item and the field. */
export class CoserDataError extends Error {
  override name = 'CoserDataError';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown) =>
  v === undefined ? 'nothing' : Array.isArray(v) ? 'an array' : v === null ? 'null' : `${typeof v} ${JSON.stringify(v).slice(0, 60)}`;

/** Validates one item; `fail(field, problem)` throws with the file and item named. */
function checkItem(raw: unknown, fail: (field: string, problem: string) => never): CoserTestItem {
  if (!isObj(raw)) fail('(item)', `expected an object but found ${describe(raw)}`);
  const str = (o: Obj, key: string, where: string, required = true): string | undefined => {
    const v = o[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || (required && v.trim() === '')) fail(where, `expected a non-empty string but found ${describe(v)}`);
    return v;
  };
  const int = (o: Obj, key: string, where: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(where, `expected an integer but found ${describe(v)}`);
    return v;
  };
  const strings = (v: unknown, where: string): string[] => {
    if (!Array.isArray(v)) fail(where, `expected an array of names but found ${describe(v)}`);
    v.forEach((s, i) => {
      if (typeof s !== 'string' || s.trim() === '') fail(`${where}[${i}]`, `expected a name but found ${describe(s)}`);
    });
    return v as string[];
  };

  str(raw, 'book', 'book');
  str(raw, 'scenario', 'scenario');
  int(raw, 'i_c', 'i_c');

  const dialogues = raw.dialogues;
  if (!Array.isArray(dialogues) || dialogues.length === 0)
    fail('dialogues', `expected a non-empty array of {character, message} but found ${describe(dialogues)}`);
  dialogues.forEach((d, i) => {
    if (!isObj(d)) fail(`dialogues[${i}]`, `expected {character, message} but found ${describe(d)}`);
    str(d, 'character', `dialogues[${i}].character`);
    if (typeof d.message !== 'string') fail(`dialogues[${i}].message`, `expected a string but found ${describe(d.message)}`);
  });

  const speaking = strings(raw.speaking_characters_w_env, 'speaking_characters_w_env');
  if (!speaking.some((s) => s !== ENVIRONMENT)) fail('speaking_characters_w_env', `names no character other than ${ENVIRONMENT}`);
  strings(raw.major_characters, 'major_characters');

  const keys = raw.key_characters ?? [];
  if (!Array.isArray(keys)) fail('key_characters', `expected an array but found ${describe(keys)}`);
  keys.forEach((k, i) => {
    if (!isObj(k)) fail(`key_characters[${i}]`, `expected {name, thought|motivation} but found ${describe(k)}`);
    str(k, 'name', `key_characters[${i}].name`);
    str(k, 'thought', `key_characters[${i}].thought`, false);
    str(k, 'motivation', `key_characters[${i}].motivation`, false);
  });

  const plot = raw.plot;
  if (!isObj(plot)) fail('plot', `expected an object but found ${describe(plot)}`);
  int(plot, 'i_p', 'plot.i_p');
  const summary = str(plot, 'summary', 'plot.summary', false);
  const text = str(plot, 'text', 'plot.text', false);
  if (!summary?.trim() && !text?.trim()) fail('plot.summary', 'expected a plot summary (or at least plot.text) but found neither');
  const plotChars = plot.key_characters ?? [];
  if (!Array.isArray(plotChars)) fail('plot.key_characters', `expected an array but found ${describe(plotChars)}`);
  plotChars.forEach((c, i) => {
    if (!isObj(c)) fail(`plot.key_characters[${i}]`, `expected {name, description} but found ${describe(c)}`);
    str(c, 'name', `plot.key_characters[${i}].name`);
  });

  const profiles = raw.character_profiles ?? {};
  if (!isObj(profiles)) fail('character_profiles', `expected an object of name -> profile text but found ${describe(profiles)}`);
  for (const [name, p] of Object.entries(profiles)) {
    if (typeof p !== 'string') fail(`character_profiles["${name}"]`, `expected a profile text but found ${describe(p)}`);
  }
  if (raw.tag !== undefined && typeof raw.tag !== 'string') fail('tag', `expected a string but found ${describe(raw.tag)}`);

  return {
    ...raw,
    key_characters: keys,
    plot: { ...plot, key_characters: plotChars },
    character_profiles: profiles,
  } as unknown as CoserTestItem;
}

/** thought (test_set.json) or motivation (example_test_set.json), by character name. */
export function coserMotives(item: Pick<CoserTestItem, 'key_characters'>): Record<string, string> {
  const motives: Record<string, string> = {};
  for (const k of item.key_characters) {
    const m = (k.thought ?? k.motivation ?? '').trim();
    if (m) motives[k.name] = m;
  }
  return motives;
}

/** The file to read: `path` itself, or test_set.json inside a directory. */
function resolveFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CoserDataError(`CoSER data not found at ${path} (expected test_set.json, or a directory containing it)`);
  }
  if (!st.isDirectory()) return path;
  const file = join(path, 'test_set.json');
  try {
    statSync(file);
  } catch {
    throw new CoserDataError(`${path} is a directory without test_set.json; pass the CoSER test file itself (e.g. data/test/test_set.json)`);
  }
  return file;
}

/** Loads and validates the cases of a CoSER test file (or a directory holding test_set.json). */
export function loadCoser(path: string, opts: { lang: Lang }): CoserCase[] {
  const file = resolveFile(path);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CoserDataError(`${file}: not readable as JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new CoserDataError(`${file}: expected a JSON array of CoSER items but found ${describe(data)}`);
  if (data.length === 0) throw new CoserDataError(`${file}: the file holds no items`);
  const seen = new Map<string, number>();
  return data.map((raw, index) => {
    const book = isObj(raw) && typeof raw.book === 'string' ? ` (${raw.book})` : '';
    const item = checkItem(raw, (field, problem) => {
      throw new CoserDataError(`${file}: item ${index}${book}: field ${field}: ${problem}`);
    });
    const base = `${item.book}-${item.plot.i_p}-${item.i_c}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { id: n === 1 ? base : `${base}#${n}`, file, index, lang: opts.lang, item, motives: coserMotives(item) };
  });
}
