// Prompt builders for the four reasoning styles, over single- and multi-turn chat and
// multi-character scenes. They produce OpenAI-style messages; renderChatTemplate() turns
// those into a model's own prompt text through its Hugging Face chat template.
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '@rapo/llm';
import { baseProfile, displayName, profileText, renderProfile, type DynamicProfile, type Lang, type Profile } from './profile.js';

export type ReasoningStyle = 'none' | 'generic-cot' | 'inner-monologue' | 'psy-cot';
export const REASONING_STYLES: readonly ReasoningStyle[] = ['none', 'generic-cot', 'inner-monologue', 'psy-cot'];

/** What each Psy-CoT step asks for, in our own words (psychology of appraisal and motive). */
export const PSY_COT_STEPS: Record<Lang, { perception: string; empathy: string; construction: string }> = {
  en: {
    perception:
      'Interaction perception: read the moment. Who is addressing {name}, what did they actually say, what do they want or hint at, how do they seem to feel, and what is the situation?',
    empathy:
      "Psychological empathy: take {name}'s inner point of view. Weigh what just happened against {name}'s goals, values, personality and history: does it matter to {name}, does it help or threaten what {name} cares about, who is responsible, can {name} cope with it? Name the emotion this stirs in {name} and the motive it creates.",
    construction:
      "Logical construction: plan the reply. Decide what {name} wants the reply to achieve, which facts from the profile and the conversation bear on it, what {name} does not or cannot know, and how {name} would say it in {name}'s own voice.",
  },
  zh: {
    perception: '互动感知：看清此刻发生了什么。谁在对{name}说话，说了什么，想要什么或暗示什么，情绪如何，处在什么情境中？',
    empathy:
      '心理共情：站到{name}的内心。把刚发生的事与{name}的目标、价值观、性格和经历相对照：这件事对{name}重要吗，是有利还是威胁到{name}在乎的东西，该由谁负责，{name}能否应对？说出由此产生的情绪和动机。',
    construction:
      '逻辑构建：规划回复。想清楚{name}希望这句回复达成什么，哪些设定和对话中的事实与之相关，哪些事{name}不知道也不可能知道，以及{name}会用怎样的口吻说出来。',
  },
};

const EN = {
  role: "You are {name}. Stay in character for the whole conversation: speak as {name} would, with {name}'s knowledge, memories, values and way of talking. Never say or hint that you are an AI, a model or playing a role; if asked, answer as {name} would.",
  sceneRole:
    'You are {name}, one of the characters in the scene below. Play only {name}: speak and act as {name} would, never for anyone else, and never step out of the story.',
  profile: '# Character profile',
  others: '# Other characters in the scene',
  scenario: '# Scenario',
  how: '# How to answer',
  none: 'Reply with what {name} says, and what {name} does in (parentheses) when it matters. Write nothing else: no notes, no explanation.',
  generic: 'Before replying, think it over step by step inside <think> and </think>. Then write the reply itself, in character.',
  genericFormat: '<think>\nyour reasoning\n</think>\nthe reply',
  monologue:
    "Write {name}'s next turn. Put {name}'s unspoken thoughts in [square brackets] and actions in (parentheses); everything else is said aloud. Others do not hear the thoughts.",
  psy: 'Before each reply, think it through as {name} in three steps, then reply.',
  format: 'Write your answer exactly in this form, and nothing before <think>:',
  psyFormat:
    '<think>\n<perception>step 1</perception>\n<empathy>step 2</empathy>\n<construction>step 3</construction>\n</think>\nthe reply itself, in character',
  scenePrompt: 'The scene so far:',
  sceneStart: 'The scene is about to begin.',
  turn: "It is {name}'s turn now.",
};

const ZH: typeof EN = {
  role: '你是{name}。在整个对话中保持角色：用{name}的知识、记忆、价值观和说话方式来回应。绝不说出或暗示自己是AI、模型或在扮演角色；如果被问到，就按{name}会有的方式回答。',
  sceneRole: '你是{name}，下面场景中的一个角色。只扮演{name}：按{name}的方式说话和行动，不替其他人说话，也不跳出故事。',
  profile: '# 角色设定',
  others: '# 场景中的其他角色',
  scenario: '# 场景',
  how: '# 回答方式',
  none: '只写出{name}说的话，必要时用（括号）写出{name}的动作。不要写任何其他内容：不要注释，不要解释。',
  generic: '回复之前，先在<think>和</think>之间一步一步地思考。然后写出角色的回复。',
  genericFormat: '<think>\n你的思考\n</think>\n回复内容',
  monologue: '写出{name}的下一轮发言。{name}没有说出口的想法写在[方括号]里，动作写在（括号）里；其余内容都是说出口的话。其他人听不到这些想法。',
  psy: '每次回复之前，先以{name}的身份按三个步骤思考，然后再回复。',
  format: '严格按以下格式作答，<think>之前不要写任何内容：',
  psyFormat: '<think>\n<perception>第一步</perception>\n<empathy>第二步</empathy>\n<construction>第三步</construction>\n</think>\n角色的回复',
  scenePrompt: '目前的场景：',
  sceneStart: '场景即将开始。',
  turn: '现在轮到{name}。',
};

const T: Record<Lang, typeof EN> = { en: EN, zh: ZH };

function fill(text: string, name: string): string {
  return text.replaceAll('{name}', name);
}

/** The "how to answer" section for a style. */
export function styleInstructions(style: ReasoningStyle, name: string, lang: Lang = 'en'): string {
  const t = T[lang];
  switch (style) {
    case 'none':
      return fill(t.none, name);
    case 'generic-cot':
      return `${fill(t.generic, name)}\n${t.format}\n${t.genericFormat}`;
    case 'inner-monologue':
      return fill(t.monologue, name);
    case 'psy-cot': {
      const s = PSY_COT_STEPS[lang];
      return [
        fill(t.psy, name),
        `1. ${fill(s.perception, name)}`,
        `2. ${fill(s.empathy, name)}`,
        `3. ${fill(s.construction, name)}`,
        t.format,
        t.psyFormat,
      ].join('\n');
    }
    default:
      throw new TypeError(`Expected one of ${REASONING_STYLES.map((s) => `"${s}"`).join(', ')} for style but received ${JSON.stringify(style)}`);
  }
}

export interface ChatTurn {
  /** Who spoke: the user, or the character being played. */
  role: 'user' | 'character';
  /** What was said (for the character: the reply only, reasoning already stripped). */
  text: string;
}

export interface ChatPromptInput {
  profile: Profile | DynamicProfile;
  style: ReasoningStyle;
  /** Earlier turns, oldest first (empty for a single-turn chat). */
  history?: ChatTurn[];
  /** The user's new message. */
  message: string;
  /** Optional scene or relationship the chat takes place in. */
  scenario?: string;
  /** How the user is called, when the profile refers to them. */
  userName?: string;
  lang?: Lang;
}

/** A character's system prompt: the role line, the given sections, then how to answer in `style`. */
function characterSystem(roleLine: string, sections: string[], style: ReasoningStyle, name: string, lang: Lang): string {
  return [roleLine, '', ...sections, '', T[lang].how, styleInstructions(style, name, lang)].join('\n');
}

/** Messages for a (single- or multi-turn) chat between a user and the character. */
export function buildChatPrompt(input: ChatPromptInput): ChatMessage[] {
  const lang = input.lang ?? 'en';
  const t = T[lang];
  const name = displayName(baseProfile(input.profile));
  const system = characterSystem(
    fill(t.role, name),
    [
      t.profile,
      profileText(input.profile, lang),
      ...(input.scenario ? ['', t.scenario, input.scenario] : []),
      ...(input.userName ? ['', `${lang === 'zh' ? '对话者' : 'You are talking with'}${lang === 'zh' ? '：' : ': '}${input.userName}`] : []),
    ],
    input.style,
    name,
    lang,
  );
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  for (const turn of input.history ?? []) {
    messages.push({ role: turn.role === 'user' ? 'user' : 'assistant', content: turn.text });
  }
  messages.push({ role: 'user', content: input.message });
  return messages;
}

export interface SceneLine {
  speaker: string;
  text: string;
}

export interface ScenePromptInput {
  /** The character whose turn it is. */
  profile: Profile | DynamicProfile;
  /** The other characters present (their profiles are shortened to `otherProfileChars`). */
  others: Profile[];
  scenario: string;
  /** What has been said and done so far, oldest first (reasoning already stripped). */
  transcript: SceneLine[];
  style: ReasoningStyle;
  lang?: Lang;
  /** Longest rendering of each other character's profile. Default 800 characters. */
  otherProfileChars?: number;
}

/** Messages for one character's turn in a multi-character scene. */
export function buildScenePrompt(input: ScenePromptInput): ChatMessage[] {
  const lang = input.lang ?? 'en';
  const t = T[lang];
  const name = displayName(baseProfile(input.profile));
  const limit = input.otherProfileChars ?? 800;
  const shorten = (s: string) => (s.length > limit ? `${s.slice(0, limit).trimEnd()}…` : s);
  const others = input.others.map((p) => `## ${displayName(p)}\n${shorten(renderProfile(p, lang))}`);
  const system = characterSystem(
    fill(t.sceneRole, name),
    [t.scenario, input.scenario, '', t.profile, profileText(input.profile, lang), ...(others.length ? ['', t.others, ...others] : [])],
    input.style,
    name,
    lang,
  );
  const sep = lang === 'zh' ? '：' : ': ';
  const body = input.transcript.length ? [t.scenePrompt, ...input.transcript.map((l) => `${l.speaker}${sep}${l.text}`)].join('\n') : t.sceneStart;
  return [
    { role: 'system', content: system },
    { role: 'user', content: `${body}\n\n${fill(t.turn, name)}` },
  ];
}

/**
 * Renders messages with a model's Hugging Face chat template (the `chat_template` of its
 * tokenizer_config.json), as the model saw its prompts in training.
 */
export function renderChatTemplate(
  template: string,
  messages: ChatMessage[],
  options: { addGenerationPrompt?: boolean; bosToken?: string; eosToken?: string; extra?: Record<string, unknown> } = {},
): string {
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (e) {
    throw new TypeError(`Expected a Jinja chat template for template but it does not parse: ${(e as Error).message}`, { cause: e });
  }
  return compiled.render({
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? true,
    bos_token: options.bosToken ?? '',
    eos_token: options.eosToken ?? '',
    ...options.extra,
  });
}
