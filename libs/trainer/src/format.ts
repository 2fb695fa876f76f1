// Prompts and training sequences in token ids. The compact format puts the profile in the system
// message and nothing else (what a small model trained here can afford); the chat format uses
// @rapo/psycot's full Psy-CoT instructions. RAPO's ablated prompts come from the same builder.
import type { ChatMessage } from '@rapo/llm';
import { BpeTokenizer, END_OF_TURN, renderChat } from '@rapo/model';
import { buildChatPrompt, parseProfile } from '@rapo/psycot';
import type { PromptRecord } from './data.js';

export type PromptFormat = 'compact' | 'chat';
export type Ablation = 'drop' | 'name-only' | 'swap';

/** The profile text the prompt shows: the record's own, or its ablated version. */
function profileFor(rec: PromptRecord, ablation?: Ablation, swapWith?: PromptRecord): string {
  if (!ablation) return rec.profile;
  if (ablation === 'drop') return '';
  if (ablation === 'name-only') return rec.name ? `Name: ${rec.name}.` : '';
  return swapWith?.profile ?? '';
}

export function promptMessages(rec: PromptRecord, format: PromptFormat, ablation?: Ablation, swapWith?: PromptRecord): ChatMessage[] {
  const profile = profileFor(rec, ablation, swapWith);
  if (format === 'compact') {
    return [...(profile ? [{ role: 'system' as const, content: profile }] : []), { role: 'user', content: rec.message }];
  }
  const p = profile ? parseProfile(profile, rec.name ? { name: rec.name } : {}) : parseProfile('(no profile is given)');
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
