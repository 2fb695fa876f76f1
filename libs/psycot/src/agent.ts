// A Character: a profile, a chat model and a reasoning style. One call runs one turn: build
// the prompt, call the model, parse the answer, and on a format error ask once more with a
// repair instruction. Returns the reply, the reasoning and the raw text.
import type { CallOptions, ChatMessage, ChatModel, ChatParams } from '@rapo/llm';
import { parseGenericCot, parsePsyCot, parsePsyCotLenient, PsyCotParseError, stripReasoning, type PsyCotOutput } from './parser.js';
import { DynamicProfile, type Lang, type Profile, type ProfileInput } from './profile.js';
import { buildChatPrompt, buildScenePrompt, type ChatTurn, type ReasoningStyle, type SceneLine } from './prompts.js';

export interface CharacterOptions {
  /** A profile (structured or text), or a DynamicProfile the caller keeps adding facts to. */
  profile: ProfileInput | Profile | DynamicProfile;
  model: ChatModel;
  /** Default 'psy-cot'. */
  style?: ReasoningStyle;
  lang?: Lang;
  /** Name for a profile given as bare text. */
  name?: string;
  /** Sampling parameters for every call (n is always 1). */
  params?: Omit<ChatParams, 'n'>;
  /**
   * When the answer is still malformed after the repair attempt: true takes what the lenient
   * parser recovers (listing the repairs), false (default) throws the PsyCotParseError.
   */
  lenient?: boolean;
}

export interface TurnResult {
  /** What the character says, reasoning removed. */
  reply: string;
  /** The three Psy-CoT sections (psy-cot style). */
  sections?: Omit<PsyCotOutput, 'reply'>;
  /** The free reasoning (generic-cot) or the bracketed thoughts (inner-monologue). */
  reasoning?: string;
  /** The model's text as it came, from the try that was used. */
  raw: string;
  /** 1, or 2 when the first answer had to be repaired by asking again. */
  attempts: number;
  /** What the lenient parser repaired, when it was needed. */
  repairs: string[];
}

const REPAIR: Record<Lang, string> = {
  en: 'Your answer did not follow the required format ({error}). Answer again, keeping to the format exactly as instructed, and write nothing outside it.',
  zh: '你的回答没有遵守要求的格式（{error}）。请严格按照规定的格式重新回答，格式之外不要写任何内容。',
};

export class Character {
  readonly profile: DynamicProfile;
  readonly style: ReasoningStyle;
  readonly #opts: CharacterOptions;

  constructor(opts: CharacterOptions) {
    this.profile = opts.profile instanceof DynamicProfile ? opts.profile : new DynamicProfile(opts.profile, { name: opts.name });
    this.style = opts.style ?? 'psy-cot';
    this.#opts = opts;
  }

  /**
   * One reply to `message` after `history` (the character's earlier replies, reasoning stripped).
   * A model trained on the compact format (its `promptFormat`, e.g. a rapo checkpoint) gets what
   * it was trained on: the profile as the system message, the conversation, no instructions.
   */
  async turn(input: { history?: ChatTurn[]; message: string; scenario?: string; userName?: string }, call: CallOptions = {}): Promise<TurnResult> {
    if (this.#opts.model.promptFormat === 'compact') return this.#run(this.#compactMessages(input), call, false);
    const messages = buildChatPrompt({
      profile: this.profile,
      style: this.style,
      history: input.history,
      message: input.message,
      scenario: input.scenario,
      userName: input.userName,
      lang: this.#opts.lang,
    });
    return this.#run(messages, call);
  }

  /** The character's next turn in a multi-character scene. */
  async sceneTurn(input: { scenario: string; others: Profile[]; transcript: SceneLine[] }, call: CallOptions = {}): Promise<TurnResult> {
    const messages = buildScenePrompt({ profile: this.profile, style: this.style, lang: this.#opts.lang, ...input });
    return this.#run(messages, call);
  }

  async #ask(messages: ChatMessage[], call: CallOptions): Promise<string> {
    const r = await this.#opts.model.chat({ ...this.#opts.params, messages, n: 1 }, call);
    return r.choices[0]!.content;
  }

  /** The compact prompt: the profile as written (its own text, when it is a bare text), then the turns. */
  #compactMessages(input: { history?: ChatTurn[]; message: string; scenario?: string }): ChatMessage[] {
    const base = this.profile.base;
    const bare = base.freeText !== undefined && Object.keys(base).every((k) => k === 'freeText' || k === 'name') && this.profile.learned.length === 0;
    const profile = bare ? base.freeText!.trim() : this.profile.render(this.#opts.lang);
    const system = input.scenario ? `${profile}\n\n${input.scenario}` : profile;
    return [
      { role: 'system', content: system },
      ...(input.history ?? []).map((t): ChatMessage => ({ role: t.role === 'user' ? 'user' : 'assistant', content: t.text })),
      { role: 'user', content: input.message },
    ];
  }

  /** `repair`: on a format error, ask again with an instruction (a compact model never learned instructions: it is not asked). */
  async #run(messages: ChatMessage[], call: CallOptions, repair = true): Promise<TurnResult> {
    const raw = await this.#ask(messages, call);
    try {
      return { ...this.#parse(raw), raw, attempts: 1, repairs: [] };
    } catch (e) {
      if (!(e instanceof PsyCotParseError)) throw e;
      if (!repair) {
        if (!this.#opts.lenient || this.style !== 'psy-cot') throw e;
        const { repairs, reply, ...sections } = parsePsyCotLenient(raw);
        return { reply, sections, raw, attempts: 1, repairs };
      }
      const instruction = REPAIR[this.#opts.lang ?? 'en'].replace('{error}', e.message);
      const retryRaw = await this.#ask([...messages, { role: 'assistant', content: raw }, { role: 'user', content: instruction }], call);
      try {
        return { ...this.#parse(retryRaw), raw: retryRaw, attempts: 2, repairs: [] };
      } catch (e2) {
        if (!(e2 instanceof PsyCotParseError) || !this.#opts.lenient || this.style !== 'psy-cot') throw e2;
        const { repairs, reply, ...sections } = parsePsyCotLenient(retryRaw);
        return { reply, sections, raw: retryRaw, attempts: 2, repairs };
      }
    }
  }

  #parse(raw: string): Omit<TurnResult, 'raw' | 'attempts' | 'repairs'> {
    switch (this.style) {
      case 'psy-cot': {
        const { reply, ...sections } = parsePsyCot(raw);
        return { reply, sections };
      }
      case 'generic-cot':
        return parseGenericCot(raw);
      case 'inner-monologue': {
        const reply = stripReasoning(raw, 'inner-monologue');
        if (!reply) throw new PsyCotParseError('empty-reply', 'The answer holds only [thoughts] and no speech or action');
        const thoughts = [...raw.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.trim()).filter(Boolean);
        return { reply, ...(thoughts.length ? { reasoning: thoughts.join('\n') } : {}) };
      }
      default: {
        const reply = raw.trim();
        if (!reply) throw new PsyCotParseError('empty-reply', 'The answer is empty');
        return { reply };
      }
    }
  }
}
