// Profiles from the three benchmarks' own shapes:
//   CoSER          item.character_profiles[name] (text), item.plot.key_characters[] (description,
//                  summary), item.key_characters[] (thought or motivation in this scene)
//   CharacterBench item.character_profile (text, zh) and item.translation_en.character_profile
//   CharacterEval  an attribute dict with Chinese keys (姓名, 性别, 人物性格, 人物关系, ...)
import { parseProfile, ProfileError, type Profile } from './profile.js';

// --- CoSER ------------------------------------------------------------------------------------

export interface CoserItem {
  character_profiles?: Record<string, string>;
  plot?: { key_characters?: { name: string; description?: string; summary?: string }[] };
  key_characters?: { name: string; thought?: string; motivation?: string }[];
  major_characters?: string[];
}

/** The profile of one character of a CoSER item, from every source the item has for it. */
export function fromCoser(item: CoserItem, name: string): Profile {
  const text = item.character_profiles?.[name];
  const plotChar = item.plot?.key_characters?.find((c) => c.name === name);
  const sceneChar = item.key_characters?.find((c) => c.name === name);
  const now = sceneChar?.thought ?? sceneChar?.motivation;
  if (!text && !plotChar && !now) {
    throw new ProfileError(`CoSER item has no profile, plot entry or scene motive for character "${name}"`);
  }
  return parseProfile({
    name,
    ...(plotChar?.description ? { identity: plotChar.description } : {}),
    ...(now ? { goals: [now] } : {}),
    ...(plotChar?.summary ? { attributes: { 'Role in this plot': plotChar.summary } } : {}),
    ...(text ? { freeText: text } : {}),
  });
}

/** Profiles of every character a CoSER item knows about, by name. */
export function coserProfiles(item: CoserItem): Map<string, Profile> {
  const names = new Set<string>([
    ...Object.keys(item.character_profiles ?? {}),
    ...(item.plot?.key_characters ?? []).map((c) => c.name),
    ...(item.key_characters ?? []).map((c) => c.name),
  ]);
  return new Map([...names].map((n) => [n, fromCoser(item, n)]));
}

// --- CharacterBench ---------------------------------------------------------------------------

export interface CharacterBenchItem {
  character_name: string;
  character_profile: string;
  translation_en?: { character_name?: string; character_profile?: string };
}

export function fromCharacterBench(item: CharacterBenchItem, lang: 'zh' | 'en' = 'zh'): Profile {
  if (lang === 'en') {
    const t = item.translation_en;
    if (!t?.character_profile) {
      throw new ProfileError(`CharacterBench item for "${item.character_name}" has no English translation (translation_en)`);
    }
    return parseProfile(t.character_profile, { name: t.character_name ?? item.character_name });
  }
  return parseProfile(item.character_profile, { name: item.character_name });
}

// --- CharacterEval ----------------------------------------------------------------------------

type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };

function flatten(v: AttrValue): string {
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(flatten).filter(Boolean).join('、');
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}：${flatten(x)}`)
      .join('；');
  return String(v).trim();
}

const UNKNOWN = new Set(['', '未知', '无']);

/** An attribute dict of CharacterEval's character_profiles.json (keys in Chinese). */
export function fromCharacterEval(attrs: Record<string, AttrValue>): Profile {
  // Every key taken into a field leaves `rest`; what remains becomes attributes.
  const rest: Record<string, AttrValue> = { ...attrs };
  const take = (...keys: string[]) => {
    for (const k of keys) {
      if (k in attrs) {
        const v = flatten(attrs[k]!);
        delete rest[k];
        if (!UNKNOWN.has(v)) return v;
      }
    }
    return undefined;
  };
  const name = take('姓名');
  if (!name) throw new ProfileError('CharacterEval profile has no 姓名 (name)');
  const traits = take('人物性格', '性格', '性格特点');
  const identityParts = ['身份', '工作', '性别', '年龄'].flatMap((k) => {
    const v = take(k);
    return v ? [`${k}：${v}`] : [];
  });
  const background = take('人物经历', '经历', '成长记事');
  const speech = take('口头禅', '说话风格');
  const relations = attrs['人物关系'];
  delete rest['人物关系'];
  const relationships =
    relations && typeof relations === 'object' && !Array.isArray(relations)
      ? Object.entries(relations)
          .map(([relation, who]) => ({ name: flatten(who), relation }))
          .filter((r) => r.name)
      : [];
  const goals = [take('理想'), take('志向')].filter(Boolean) as string[];
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) {
    const s = flatten(v);
    if (!UNKNOWN.has(s)) attributes[k] = s;
  }
  return parseProfile({
    name,
    ...(identityParts.length ? { identity: identityParts.join('，') } : {}),
    ...(traits ? { personality: traits.split(/[、，,；;]\s*/).filter(Boolean) } : {}),
    ...(background ? { background } : {}),
    ...(relationships.length ? { relationships } : {}),
    ...(speech ? { speechStyle: `口头禅：${speech}` } : {}),
    ...(goals.length ? { goals } : {}),
    ...(Object.keys(attributes).length ? { attributes } : {}),
  });
}
