// The judge's question for one CharacterBench case, in our own words: the dimension and its
// rubric, the character, what the user said, the reply, and the item's reference; the answer
// ends with the score on its own line.
import type { ChatMessage } from '@rapo/llm';
import { renderProfile, type ChatTurn, type Lang } from '@rapo/psycot';
import { DIMENSIONS } from './dimensions.js';
import type { CharacterBenchCase } from './load.js';

const T = {
  en: {
    system:
      'You are a strict and impartial judge of role-playing conversations. You rate one reply of a character on one dimension only, using only the materials given and the rubric. High scores must be earned.',
    dimension: 'Dimension',
    rubric: (max: number) => `Rubric (an integer from 1 to ${max})`,
    profile: 'Character profile',
    user: 'The user',
    dialogue: 'Earlier dialogue',
    message: "The user's last message",
    reply: "The character's reply to rate",
    answer: (max: number) =>
      `First explain your judgement in one to three sentences. Then write the score on the last line, exactly as "Score: N", where N is an integer from 1 to ${max}.`,
    colon: ': ',
  },
  zh: {
    system: '你是一名严格、公正的角色扮演对话评审。你只就一个维度为角色的一条回复打分，只依据给出的材料和评分标准。高分必须名副其实。',
    dimension: '评价维度',
    rubric: (max: number) => `评分标准（1到${max}的整数）`,
    profile: '角色设定',
    user: '用户',
    dialogue: '先前的对话',
    message: '用户的最后一句话',
    reply: '需要评分的角色回复',
    answer: (max: number) => `先用一到三句话说明你的判断。然后在最后一行严格按“评分：N”的格式写出分数，N是1到${max}之间的整数。`,
    colon: '：',
  },
} as const;

/** "name: text" lines of the dialogue before the user's last message. */
export function dialogueLines(history: ChatTurn[], character: string, userName: string, lang: Lang): string {
  const colon = T[lang].colon;
  return history.map((t) => `${t.role === 'user' ? userName : character}${colon}${t.text}`).join('\n');
}

/** The judge messages for `reply` to case `c`, in `lang`. */
export function judgeMessages(c: CharacterBenchCase, reply: string, lang: Lang): ChatMessage[] {
  const t = T[lang];
  const spec = DIMENSIONS[c.dimension];
  const section = (title: string, body: string) => `## ${title}\n${body}`;
  const parts = [
    section(`${t.dimension}${t.colon}${spec.name[lang]}`, spec.task[lang]),
    section(t.rubric(spec.max), spec.levels[lang].map((l, i) => `${i + 1}${t.colon}${l}`).join('\n')),
    section(t.profile, renderProfile(c.profile, lang)),
    ...(c.userProfile ? [section(`${t.user}${t.colon}${c.userName}`, c.userProfile)] : []),
    ...(spec.judgeSeesDialogue && c.history.length ? [section(t.dialogue, dialogueLines(c.history, c.character, c.userName, lang))] : []),
    section(t.message, `${c.userName}${t.colon}${c.message}`),
    section(t.reply, `${c.character}${t.colon}${reply}`),
    ...(c.reference && spec.referenceLabel ? [section(spec.referenceLabel[lang], c.reference)] : []),
    t.answer(spec.max),
  ];
  return [
    { role: 'system', content: t.system },
    { role: 'user', content: parts.join('\n\n') },
  ];
}
