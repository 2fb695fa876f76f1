// Prompts and training sequences in token ids. The compact format puts the profile in the system
// message and nothing else (what a small model trained here can afford); the chat format uses
// @rapo/psycot's full Psy-CoT instructions. RAPO's ablated prompts come from the same builder.
import type { ChatMessage, PromptFormat } from '@rapo/llm';
import { BpeTokenizer, END_OF_TURN, renderChat } from '@rapo/model';
import { buildChatPrompt, parseProfile } from '@rapo/psycot';
import type { PromptRecord } from './data.js';

export type { PromptFormat };
export type Ablation = 'drop' | 'name-only' | 'swap';

/** The profile text the prompt shows, and the name that goes with it: the record's own, or its ablated version. */
function profileFor(rec: PromptRecord, ablation?: Ablation, swapWith?: PromptRecord): { profile: string; name?: string } {
  if (!ablation) return { profile: rec.profile, ...(rec.name ? { name: rec.name } : {}) };
  if (ablation === 'drop') return { profile: '' };
  if (ablation === 'name-only') {
    if (!rec.name) throw new Error(`The name-only ablation needs the character's name, and prompt ${rec.id} has none (add "name" to its JSONL line)`);
    return { profile: `Name: ${rec.name}.`, name: rec.name };
  }
  if (!swapWith) throw new Error(`The swap ablation needs another character's profile for prompt ${rec.id}, and there is none`);
  return { profile: swapWith.profile, ...(swapWith.name ? { name: swapWith.name } : {}) };
}

/** Who a prompt's character is: its testbed id when known, else its name, else its profile text. */
export function characterKey(r: PromptRecord): string {
  return r.characterId ?? r.name ?? r.profile;
}

/**
 * The profile swapped in for `rec` under the swap ablation: entry `k` (mod the count) of the
 * pool's prompts that belong to another character (by character id when known, else by name,
 * else by profile text), so the same character in another phrasing is never its own partner.
 */
export function swapPartner(pool: readonly PromptRecord[], rec: PromptRecord, k: number): PromptRecord | undefined {
  const others = pool.filter((q) => characterKey(q) !== characterKey(rec));
  return others.length ? others[((k % others.length) + others.length) % others.length] : undefined;
}

export function promptMessages(rec: PromptRecord, format: PromptFormat, ablation?: Ablation, swapWith?: PromptRecord): ChatMessage[] {
  const { profile, name } = profileFor(rec, ablation, swapWith);
  if (format === 'compact') {
    return [...(profile ? [{ role: 'system' as const, content: profile }] : []), { role: 'user', content: rec.message }];
  }
  const p = profile ? parseProfile(profile, name ? { name } : {}) : parseProfile('(no profile is given)');
  return buildChatPrompt({ profile: p, style: 'psy-cot', message: rec.message });
}

export function encodePrompt(tokenizer: BpeTokenizer, messages: ChatMessage[]): number[] {
  return tokenizer.encode(renderChat(messages));
}

/** Token ids of a response as the model should produce it: the text, then the end of turn. */
export function encodeResponse(tokenizer: BpeTokenizer, response: string): number[] {
  return tokenizer.encode(response + END_OF_TURN);
}

export interface Sequence {
  ids: number[];
  /** 1 on the response tokens (the loss counts them). */
  lossMask: number[];
}

export function encodeExample(tokenizer: BpeTokenizer, prompt: number[], response: number[]): Sequence {
  return { ids: [...prompt, ...response], lossMask: [...prompt.map(() => 0), ...response.map(() => 1)] };
}

/** Right-pads sequences to one length: ids with `pad`, masks with 0. */
export function padBatch(seqs: Sequence[], pad: number): { ids: number[][]; attention: number[][]; lossMask: number[][]; length: number } {
  const length = Math.max(...seqs.map((s) => s.ids.length));
  return {
    ids: seqs.map((s) => [...s.ids, ...new Array<number>(length - s.ids.length).fill(pad)]),
    attention: seqs.map((s) => [...s.ids.map(() => 1), ...new Array<number>(length - s.ids.length).fill(0)]),
    lossMask: seqs.map((s) => [...s.lossMask, ...new Array<number>(length - s.ids.length).fill(0)]),
    length,
  };
}
