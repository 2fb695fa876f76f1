// Reading CharacterEval's data folder: test_data.jsonl (despite the name, ONE JSON array of
// {id, role, novel_name, context}), id2metric.jsonl (ONE JSON object: item id -> [[metric_en,
// metric_zh], ...]) and character_profiles.json (role -> attribute dict). Real JSON Lines are
// accepted as well. One case per (item, metric); an item without an id2metric entry has no
// metric to be judged on and is skipped (counted in `skipped`). Errors name the file and problem.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromCharacterEval, type ChatTurn, type Lang, type Profile } from '@rapo/psycot';
import { isMetric, METRIC_NAMES, type CharacterEvalMetric } from './metrics.js';

export interface ContextLine {
  speaker: string;
  text: string;
}

export interface CharacterEvalCase {
  /** `<item id>#<metric>`, e.g. "5320#Accuracy". */
  id: string;
  itemId: string;
  metric: CharacterEvalMetric;
  /** The metric's Chinese name as id2metric.jsonl gives it. */
  metricZh: string;
  /** The character the model plays. */
  role: string;
  novel: string;
  profile: Profile;
  /** The context as "speaker：text" lines. */
  context: ContextLine[];
}

export interface CharacterEvalLoad {
  cases: CharacterEvalCase[];
  /** Items without an id2metric entry (or with an empty one): nothing to judge them on. */
  skipped: string[];
  items: number;
}

export class CharacterEvalDataError extends Error {
  override name = 'CharacterEvalDataError';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const FILES = { data: 'test_data.jsonl', metrics: 'id2metric.jsonl', profiles: 'character_profiles.json' } as const;

/** The folder holding the three files: `path` itself or its data/ subfolder. */
export function characterEvalDir(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new CharacterEvalDataError(`CharacterEval data not found: ${abs} does not exist`);
  if (!statSync(abs).isDirectory())
    throw new CharacterEvalDataError(`${abs}: expected the CharacterEval data folder (with ${Object.values(FILES).join(', ')}), not a file`);
  for (const dir of [abs, join(abs, 'data')]) {
    if (existsSync(join(dir, FILES.data))) {
      for (const f of Object.values(FILES)) {
        if (!existsSync(join(dir, f)))
          throw new CharacterEvalDataError(`${join(dir, f)}: missing (CharacterEval needs ${Object.values(FILES).join(', ')} side by side)`);
      }
      return dir;
    }
  }
  throw new CharacterEvalDataError(`${abs}: no ${FILES.data} in it or in data/ below it`);
}

/**
 * A file's JSON: one JSON document (as the official .jsonl files are), or else JSON Lines, one
 * value per non-empty line (returned as an array).
 */
export function readJsonOrLines(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (whole) {
    const lines = text
      .split('\n')
      .map((l, i) => [i + 1, l.trim()] as const)
      .filter(([, l]) => l !== '');
    if (lines.length < 2) throw new CharacterEvalDataError(`${file}: not valid JSON (${(whole as Error).message})`);
    return lines.map(([n, l]) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new CharacterEvalDataError(
          `${file}: neither one JSON document (${(whole as Error).message}) nor JSON Lines (line ${n}: ${(e as Error).message})`,
        );
      }
    });
  }
}

/** Splits a context into "speaker：text" lines; a line without a speaker continues the previous one. */
export function parseContext(context: string): ContextLine[] {
  const lines: ContextLine[] = [];
  for (const raw of context.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([^：]{1,40})：(.*)$/s.exec(line);
    if (m) lines.push({ speaker: m[1]!.trim(), text: m[2]!.trim() });
    else if (lines.length) lines.at(-1)!.text += `\n${line}`;
    else lines.push({ speaker: '', text: line });
  }
  return lines;
}

/** The context as chat turns for `role`: its lines are the character's, everyone else's the user's (prefixed with the speaker). */
export function contextTurns(context: ContextLine[], role: string, colon = '：'): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const l of context) {
    const mine = l.speaker === role;
    const text = mine ? l.text : l.speaker ? `${l.speaker}${colon}${l.text}` : l.text;
    const prev = turns.at(-1);
    // Consecutive lines of the same side form one turn, so the chat alternates.
    if (prev && (prev.role === 'character') === mine) prev.text += `\n${text}`;
    else turns.push({ role: mine ? 'character' : 'user', text });
  }
  return turns;
}

/** Loads the cases and says which items were skipped. */
export function loadCharacterEvalData(path: string): CharacterEvalLoad {
  const dir = characterEvalDir(path);
  const dataFile = join(dir, FILES.data);
  const metricFile = join(dir, FILES.metrics);
  const profileFile = join(dir, FILES.profiles);

  const data = readJsonOrLines(dataFile);
  if (!Array.isArray(data)) throw new CharacterEvalDataError(`${dataFile}: expected a JSON array of items (or JSON Lines) but found ${typeof data}`);
  const id2metric = readMetricTable(metricFile);
  const profilesRaw = readJsonOrLines(profileFile);
  if (!isObj(profilesRaw)) throw new CharacterEvalDataError(`${profileFile}: expected one JSON object mapping each role to its profile`);

  const profiles = new Map<string, Profile>();
  const profileOf = (role: string, where: string): Profile => {
    let p = profiles.get(role);
    if (p) return p;
    const attrs = profilesRaw[role];
    if (!isObj(attrs)) throw new CharacterEvalDataError(`${profileFile}: no profile for the role "${role}" (${where})`);
    try {
      p = fromCharacterEval(attrs as never);
    } catch (e) {
      throw new CharacterEvalDataError(`${profileFile}: the profile of "${role}" cannot be read: ${(e as Error).message}`);
    }
    profiles.set(role, p);
    return p;
  };

  const cases: CharacterEvalCase[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  data.forEach((item, index) => {
    const where = `${dataFile}: item ${index}`;
    if (!isObj(item)) throw new CharacterEvalDataError(`${where}: not a JSON object`);
    if (typeof item.id !== 'number' && typeof item.id !== 'string') throw new CharacterEvalDataError(`${where}: id is missing or not a number/string`);
    const itemId = String(item.id);
    if (seen.has(itemId)) throw new CharacterEvalDataError(`${where}: id ${itemId} appears twice`);
    seen.add(itemId);
    if (typeof item.role !== 'string' || !item.role.trim()) throw new CharacterEvalDataError(`${where} (id ${itemId}): role is missing or empty`);
    if (typeof item.context !== 'string' || !item.context.trim()) throw new CharacterEvalDataError(`${where} (id ${itemId}): context is missing or empty`);
    const role = item.role.trim();
    const metrics = id2metric.get(itemId);
    if (!metrics?.length) {
      skipped.push(itemId);
      return;
    }
    const context = parseContext(item.context);
    if (context.at(-1)!.speaker === role) {
      throw new CharacterEvalDataError(`${where} (id ${itemId}): the context ends with a line of ${role}, the role to play; there is nothing to reply to`);
    }
    const profile = profileOf(role, `used by id ${itemId}`);
    for (const m of metrics) {
      cases.push({
        id: `${itemId}#${m.en}`,
        itemId,
        metric: m.en,
        metricZh: m.zh,
        role,
        novel: typeof item.novel_name === 'string' ? item.novel_name : '',
        profile,
        context,
      });
    }
  });
  return { cases, skipped, items: data.length };
}

/** id2metric.jsonl: id -> [[metric_en, metric_zh], ...] (a bare metric name is accepted too). */
function readMetricTable(file: string): Map<string, { en: CharacterEvalMetric; zh: string }[]> {
  let raw = readJsonOrLines(file);
  if (Array.isArray(raw) && raw.every(isObj)) raw = Object.assign({}, ...raw); // JSON Lines of {id: [...]}
  if (!isObj(raw)) throw new CharacterEvalDataError(`${file}: expected one JSON object mapping item ids to lists of metrics`);
  const table = new Map<string, { en: CharacterEvalMetric; zh: string }[]>();
  for (const [id, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) throw new CharacterEvalDataError(`${file}: the entry for id ${id} is not a list of metrics`);
    const metrics = list.map((m, i) => {
      const pair = Array.isArray(m) ? m : [m];
      const en = pair[0];
      if (typeof en !== 'string' || !isMetric(en)) {
        throw new CharacterEvalDataError(`${file}: id ${id}, metric ${i}: ${JSON.stringify(m)} is not one of ${METRIC_NAMES.join(', ')}`);
      }
      return { en, zh: typeof pair[1] === 'string' ? pair[1] : '' };
    });
    const dupes = metrics.filter((m, i) => metrics.findIndex((x) => x.en === m.en) !== i);
    if (dupes.length) throw new CharacterEvalDataError(`${file}: id ${id} lists ${dupes[0]!.en} twice`);
    table.set(String(id), metrics);
  }
  return table;
}

/** Protocol.load: the cases only (see loadCharacterEvalData for the skipped items). */
export function loadCharacterEval(path: string, _opts: { lang: Lang }): CharacterEvalCase[] {
  return loadCharacterEvalData(path).cases;
}
