// Reading CharacterBench's test files (eval_data/raw_data/*_test.json): each is one JSON array,
// one case per item. An item holds the character, the dialogue ending in the user's message, the
// reference the judge needs for the file's dimension, and the gold annotation score; its English
// translation sits under translation_en (same field names). Every problem is an error naming
// the file, the item index and the field.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fromCharacterBench, type ChatTurn, type Lang, type Profile } from '@rapo/psycot';
import { DIMENSIONS, isDimension, type CharacterBenchDimension } from './dimensions.js';

export interface CharacterBenchCase {
  /** `<file stem>#<index>`, e.g. "memory_consistency_test#3". */
  id: string;
  /** The file's stem, e.g. "memory_consistency_test": the result key. */
  file: string;
  /** Absolute path of the file. */
  path: string;
  /** 0-based index of the item in the file. */
  index: number;
  dimension: CharacterBenchDimension;
  /** The language of the texts below ('zh' where an English run found no translation). */
  lang: Lang;
  character: string;
  profile: Profile;
  userName: string;
  userProfile?: string;
  /** The character's turns and the user's, oldest first: the greeting, then the dialogue before the last message. */
  history: ChatTurn[];
  /** The user's last message, which the model answers. */
  message: string;
  /** The reference the judge needs for this dimension, as text. */
  reference?: string;
  /** The gold annotation score of the item's original reply. */
  gold: number;
  /** The highest gold score among all items of the file (the official normaliser). */
  maxGold: number;
  /** Fields an English run took from the Chinese item because translation_en lacks them. */
  untranslated: string[];
}

export class CharacterBenchDataError extends Error {
  override name = 'CharacterBenchDataError';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Placeholders the data uses for "no value". */
const EMPTY = new Set(['', 'N/A', 'None', '无', 'null']);
const present = (v: unknown): v is string => typeof v === 'string' && !EMPTY.has(v.trim());

/** The *_test.json files a path designates: the file itself, or those in the folder, its eval_data/raw_data or raw_data. */
export function characterBenchFiles(path: string): string[] {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CharacterBenchDataError(`CharacterBench data not found: ${abs} does not exist`);
  if (statSync(abs).isFile()) {
    if (!abs.endsWith('_test.json')) throw new CharacterBenchDataError(`${abs}: expected a CharacterBench test file named <dimension>_test.json`);
    return [abs];
  }
  for (const dir of [abs, join(abs, 'eval_data', 'raw_data'), join(abs, 'raw_data')]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('_test.json'))
      .sort();
    if (files.length) return files.map((f) => join(dir, f));
  }
  throw new CharacterBenchDataError(`${abs}: no *_test.json files in it, nor in eval_data/raw_data or raw_data below it`);
}

/** The dimension a test file's name designates. */
export function dimensionOfFile(file: string): CharacterBenchDimension {
  const stem = basename(file, '.json');
  const dim = stem.replace(/_test$/, '');
  if (!isDimension(dim)) {
    throw new CharacterBenchDataError(
      `${file}: "${stem}" is not a CharacterBench test file; expected one of ${Object.keys(DIMENSIONS)
        .map((d) => `${d}_test.json`)
        .join(', ')}`,
    );
  }
  return dim;
}

/** Loads the cases of every test file `path` designates. */
export function loadCharacterBench(path: string, opts: { lang: Lang }): CharacterBenchCase[] {
  return characterBenchFiles(path).flatMap((f) => loadCharacterBenchFile(f, opts.lang));
}

/** Loads one test file: one case per item, with the file's highest gold score on each. */
export function loadCharacterBenchFile(file: string, lang: Lang): CharacterBenchCase[] {
  const dimension = dimensionOfFile(file);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CharacterBenchDataError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data)) throw new CharacterBenchDataError(`${file}: expected a JSON array of items but found ${typeof data}`);
  if (data.length === 0) throw new CharacterBenchDataError(`${file}: the array holds no items`);
  const stem = basename(file, '.json');
  const items = data.map((item, index) => readItem(item, { file, stem, index, dimension, lang }));
  const maxGold = Math.max(...items.map((c) => c.gold));
  return items.map((c) => ({ ...c, maxGold }));
}

interface ItemContext {
  file: string;
  stem: string;
  index: number;
  dimension: CharacterBenchDimension;
  lang: Lang;
}

function readItem(item: unknown, at: ItemContext): CharacterBenchCase {
  const where = `${at.file}: item ${at.index}`;
  const fail = (field: string, problem: string): never => {
    throw new CharacterBenchDataError(`${where}: ${field} ${problem}`);
  };
  if (!isObj(item)) return fail('(the item)', 'is not a JSON object');
  const spec = DIMENSIONS[at.dimension];

  // English reads translation_en, field by field, and falls back to the Chinese item.
  const translation = at.lang === 'en' && isObj(item.translation_en) ? item.translation_en : undefined;
  const untranslated: string[] = [];
  const pick = (field: string): unknown => {
    if (translation && translation[field] !== undefined) return translation[field];
    if (at.lang === 'en' && item[field] !== undefined) untranslated.push(field);
    return item[field];
  };
  const textLang: Lang = translation ? 'en' : 'zh';
  const prefix = translation ? 'translation_en.' : '';

  const character = pick('character_name');
  if (!present(character)) fail(`${prefix}character_name`, 'is missing or empty');
  const profileText = pick('character_profile');
  if (!present(profileText)) fail(`${prefix}character_profile`, 'is missing or empty');
  const rawUser = pick('user_name');
  const userName = present(rawUser) && !/^(user|用户)$/i.test(rawUser.trim()) ? rawUser.trim() : textLang === 'zh' ? '用户' : 'User';
  const userProfile = pick('user_profile');
  const greeting = pick('greeting');

  const dialogue = pick('dialogue');
  if (!Array.isArray(dialogue) || dialogue.length === 0) fail(`${prefix}dialogue`, 'is missing or not a non-empty array');
  const turns = readDialogue(dialogue as unknown[], {
    character: character as string,
    user: typeof rawUser === 'string' ? rawUser : '',
    field: `${prefix}dialogue`,
    fail,
  });
  const last = turns.at(-1)!;
  if (last.role !== 'user') fail(`${prefix}dialogue`, `ends with a turn of the character, not the user's message to answer`);
  const history: ChatTurn[] = [...(present(greeting) ? [{ role: 'character' as const, text: greeting.trim() }] : []), ...turns.slice(0, -1)];

  let reference: string | undefined;
  if (spec.reference) {
    const [head, ...rest] = spec.reference;
    const value = rest.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), pick(head!));
    reference = referenceText(value);
    if (!reference) fail(`${prefix}${spec.reference.join('.')}`, `is missing or empty (the ${at.dimension} judge needs it as the reference)`);
  }

  const gold = typeof item.annotation_score === 'number' ? item.annotation_score : item.gold;
  if (typeof gold !== 'number' || !Number.isFinite(gold)) fail('annotation_score', 'is missing or not a number (and so is gold)');
  if ((gold as number) < 1 || (gold as number) > spec.max) fail('annotation_score', `is ${gold as number}, outside the 1-${spec.max} scale of ${at.dimension}`);

  let profile: Profile;
  try {
    profile = fromCharacterBench(item as never, translation && present(translation.character_profile) ? 'en' : 'zh');
  } catch (e) {
    return fail('character_profile', `cannot be read as a profile: ${(e as Error).message}`);
  }

  return {
    id: `${at.stem}#${at.index}`,
    file: at.stem,
    path: at.file,
    index: at.index,
    dimension: at.dimension,
    lang: textLang,
    character: (character as string).trim(),
    profile,
    userName,
    ...(present(userProfile) ? { userProfile: userProfile.trim() } : {}),
    history,
    message: last.text,
    ...(reference ? { reference } : {}),
    gold: gold as number,
    maxGold: gold as number,
    untranslated: [...new Set(untranslated)],
  };
}

/**
 * The dialogue as user and character turns. A speaker is the user when named "user" or the
 * item's user name, the character when named "character" or the character's name (or a part of
 * it, as translated names sometimes are); an unknown speaker right after a user turn answers it.
 */
function readDialogue(
  dialogue: unknown[],
  names: { character: string; user: string; field: string; fail: (field: string, problem: string) => never },
): ChatTurn[] {
  const turns: ChatTurn[] = [];
  dialogue.forEach((entry, j) => {
    const field = `${names.field}[${j}]`;
    if (!isObj(entry)) names.fail(field, 'is not an object');
    const e = entry as Obj;
    if (typeof e.speaker !== 'string') names.fail(`${field}.speaker`, 'is missing or not a string');
    if (typeof e.utterance !== 'string') names.fail(`${field}.utterance`, 'is missing or not a string');
    const speaker = (e.speaker as string).trim();
    const character = names.character.trim();
    let role: ChatTurn['role'] | undefined;
    if (/^user$/i.test(speaker) || (names.user.trim() !== '' && speaker === names.user.trim())) role = 'user';
    else if (/^character$/i.test(speaker) || speaker === character || (speaker !== '' && character.includes(speaker))) role = 'character';
    else if (turns.at(-1)?.role === 'user') role = 'character';
    if (!role) names.fail(`${field}.speaker`, `"${speaker}" is neither the user nor the character "${character}"`);
    turns.push({ role: role!, text: (e.utterance as string).trim() });
  });
  return turns;
}

/** A reference value as text: a string, or a list of lines. */
function referenceText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (Array.isArray(value)) {
    const lines = value.filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim());
    return lines.length ? lines.join('\n') : undefined;
  }
  return undefined;
}
