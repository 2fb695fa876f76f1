// Character profiles: a structured schema (zod) that also takes a plain natural-language
// description, a renderer for prompts, and dynamic profiles that carry what a character learns
// during a long conversation, kept apart from the profile it started with.
import { z } from 'zod';

export const RelationshipSchema = z.object({
  name: z.string().min(1),
  relation: z.string().min(1),
});

export const StructuredProfileSchema = z
  .object({
    /** What the character is called. Optional only for profiles given as bare text. */
    name: z.string().min(1).optional(),
    /** Who the character is in one line: role, age, occupation, era. */
    identity: z.string().optional(),
    /** Personality traits, one per entry. */
    personality: z.array(z.string().min(1)).optional(),
    background: z.string().optional(),
    relationships: z.array(RelationshipSchema).optional(),
    /** How the character talks: register, verbal tics, dialect. */
    speechStyle: z.string().optional(),
    /** What the character does not or cannot know (era, secrets, expertise). */
    knowledgeLimits: z.string().optional(),
    /** Goals and motives, including the current one in a scene. */
    goals: z.array(z.string().min(1)).optional(),
    /** Further facts as label -> value (likes, catchphrases, height...). */
    attributes: z.record(z.string(), z.string()).optional(),
    /** A natural-language description, alone or beside the fields above. */
    freeText: z.string().optional(),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)), {
    message: 'a profile needs at least one field',
  });

export type Profile = z.infer<typeof StructuredProfileSchema>;

/** A structured profile, or a plain description (optionally with the character's name). */
export const ProfileInputSchema = z.union([z.string().trim().min(1, 'a profile text cannot be empty'), StructuredProfileSchema]);

export type ProfileInput = z.input<typeof ProfileInputSchema>;

export class ProfileError extends Error {
  override name = 'ProfileError';
}

/**
 * Checks a profile and returns it in structured form. A string becomes `{ freeText }` (with
 * `name` when given). Throws ProfileError naming the first bad field.
 */
export function parseProfile(input: unknown, options: { name?: string } = {}): Profile {
  if (typeof input !== 'string' && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new ProfileError(`Expected a profile object or a profile text but received ${Array.isArray(input) ? 'an array' : String(input)}`);
  }
  // Each form on its own schema, so that an error names the field rather than the union.
  const r = typeof input === 'string' ? ProfileInputSchema.safeParse(input) : StructuredProfileSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'profile';
    throw new ProfileError(`Invalid character profile at ${where}: ${issue.message}`);
  }
  const p = typeof r.data === 'string' ? { freeText: r.data } : r.data;
  return options.name && !p.name ? { name: options.name, ...p } : p;
}

/** The name to address the character by. */
export function displayName(p: Profile): string {
  return p.name ?? 'the character';
}

export type Lang = 'en' | 'zh';

const LABELS: Record<Lang, Record<string, string>> = {
  en: {
    name: 'Name',
    identity: 'Identity',
    personality: 'Personality',
    background: 'Background',
    relationships: 'Relationships',
    speechStyle: 'Speech style',
    knowledgeLimits: 'Knowledge limits',
    goals: 'Goals and motives',
    attributes: 'Other facts',
    freeText: 'Description',
    learned: 'Learned during this conversation',
  },
  zh: {
    name: '姓名',
    identity: '身份',
    personality: '性格',
    background: '背景',
    relationships: '人物关系',
    speechStyle: '说话风格',
    knowledgeLimits: '认知边界',
    goals: '目标与动机',
    attributes: '其他信息',
    freeText: '描述',
    learned: '本次对话中得知的事',
  },
};

/** The profile as prompt text: one labelled line or list per field, the description last. */
export function renderProfile(p: Profile, lang: Lang = 'en'): string {
  const L = LABELS[lang];
  const lines: string[] = [];
  const sep = lang === 'zh' ? '：' : ': ';
  if (p.name) lines.push(`${L.name}${sep}${p.name}`);
  if (p.identity) lines.push(`${L.identity}${sep}${p.identity}`);
  if (p.personality?.length) lines.push(`${L.personality}${sep}${p.personality.join(lang === 'zh' ? '、' : ', ')}`);
  if (p.background) lines.push(`${L.background}${sep}${p.background}`);
  if (p.relationships?.length) {
    lines.push(`${L.relationships}${sep.trimEnd()}`, ...p.relationships.map((r) => `- ${r.name}${sep}${r.relation}`));
  }
  if (p.speechStyle) lines.push(`${L.speechStyle}${sep}${p.speechStyle}`);
  if (p.knowledgeLimits) lines.push(`${L.knowledgeLimits}${sep}${p.knowledgeLimits}`);
  if (p.goals?.length) lines.push(`${L.goals}${sep.trimEnd()}`, ...p.goals.map((g) => `- ${g}`));
  const attrs = Object.entries(p.attributes ?? {});
  if (attrs.length) lines.push(`${L.attributes}${sep.trimEnd()}`, ...attrs.map(([k, v]) => `- ${k}${sep}${v}`));
  const structured = lines.length > (p.name ? 1 : 0);
  if (p.freeText) {
    if (structured) lines.push(`${L.freeText}${sep.trimEnd()}`, p.freeText.trim());
    else lines.push(p.freeText.trim());
  }
  return lines.join('\n');
}

export interface LearnedFact {
  text: string;
  /** Conversation turn where it was learned. */
  turn?: number;
  /** Who established it. */
  source?: 'user' | 'character' | 'scene';
}

/**
 * A profile plus what the character learned in the conversation so far. The original profile
 * never changes; facts are added explicitly with learn() and shown to the prompt builder in a
 * section of their own, so a character remembers what happened in a long interaction.
 */
export class DynamicProfile {
  readonly base: Profile;
  readonly #learned: LearnedFact[] = [];

  constructor(base: ProfileInput | Profile, options: { name?: string } = {}) {
    this.base = Object.freeze(parseProfile(base, options));
  }

  learn(text: string, meta: Omit<LearnedFact, 'text'> = {}): this {
    const t = typeof text === 'string' ? text.trim() : '';
    if (!t) throw new ProfileError('Expected a non-empty fact for learn() but received an empty string');
    if (!this.#learned.some((f) => f.text === t)) this.#learned.push({ text: t, ...meta });
    return this;
  }

  get learned(): readonly LearnedFact[] {
    return this.#learned;
  }

  render(lang: Lang = 'en'): string {
    const base = renderProfile(this.base, lang);
    if (this.#learned.length === 0) return base;
    const sep = lang === 'zh' ? '：' : ':';
    return `${base}\n${LABELS[lang].learned}${sep}\n${this.#learned.map((f) => `- ${f.text}`).join('\n')}`;
  }

  toJSON(): { base: Profile; learned: LearnedFact[] } {
    return { base: this.base, learned: [...this.#learned] };
  }

  static fromJSON(json: { base: Profile; learned?: LearnedFact[] }): DynamicProfile {
    const d = new DynamicProfile(json.base);
    for (const f of json.learned ?? []) d.learn(f.text, { turn: f.turn, source: f.source });
    return d;
  }
}

/** Profile text for prompts, from either kind of profile. */
export function profileText(p: Profile | DynamicProfile, lang: Lang = 'en'): string {
  return p instanceof DynamicProfile ? p.render(lang) : renderProfile(p, lang);
}

export function baseProfile(p: Profile | DynamicProfile): Profile {
  return p instanceof DynamicProfile ? p.base : p;
}
