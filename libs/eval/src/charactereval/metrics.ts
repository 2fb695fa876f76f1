// CharacterEval's twelve judged metrics (the thirteenth, MBTI personality back-testing, is not a
// per-reply metric and is not run), the leaderboard's three groups of them, and our own 1-5
// rubric for each: the official scorer is a reward model (BaichuanCharRM) we cannot run, so an
// LLM judge with these rubrics stands in for it.
import type { Lang } from '@rapo/psycot';

export type CharacterEvalMetric =
  | 'Fluency'
  | 'Coherence'
  | 'Consistency'
  | 'Exposure'
  | 'Accuracy'
  | 'Hallucination'
  | 'Utterance'
  | 'Behavior'
  | 'Humanlikeness'
  | 'Communication_skills'
  | 'Diversity'
  | 'Empathy';

export interface MetricSpec {
  /** The Chinese name id2metric.jsonl pairs with the English one. */
  zh: string;
  /** What the judge rates, in our words. */
  task: Record<Lang, string>;
  /** Anchors for scores 1, 3 and 5 (2 and 4 lie between). */
  anchors: Record<Lang, readonly [string, string, string]>;
}

export const METRICS: Record<CharacterEvalMetric, MetricSpec> = {
  Fluency: {
    zh: '对话流利度',
    task: {
      en: 'Is the reply well-formed and easy to read: grammatical, natural wording, no garbled or broken text?',
      zh: '回复是否通顺易读：语法正确、措辞自然、没有乱码或残缺的文字？',
    },
    anchors: {
      en: ['Hard to read: broken grammar, garbled or cut-off text.', 'Readable, with some awkward or unnatural wording.', 'Completely fluent and natural.'],
      zh: ['难以读懂：语病严重、文字混乱或残缺。', '能读懂，但有些措辞别扭或不自然。', '完全通顺自然。'],
    },
  },
  Coherence: {
    zh: '对话连贯性',
    task: {
      en: 'Does the reply follow on from the conversation: does it respond to what was just said and fit the topic?',
      zh: '回复是否承接了对话：是否回应了对方刚说的话，是否切合话题？',
    },
    anchors: {
      en: ['Unrelated to what was just said.', 'Related, but loosely or with a jump in logic.', 'Follows on naturally and answers exactly what was said.'],
      zh: ['与对方刚说的话毫无关系。', '有关联，但比较松散或逻辑有跳跃。', '自然承接，恰好回应了对方说的话。'],
    },
  },
  Consistency: {
    zh: '对话一致性',
    task: {
      en: 'Is the reply consistent with what the character has said and done earlier in this conversation (no self-contradiction, no sudden change of stance)?',
      zh: '回复是否与角色在本段对话中先前的言行一致（不自相矛盾，立场不突变）？',
    },
    anchors: {
      en: [
        'Contradicts what the character said or did earlier.',
        'Mostly consistent, with a small wobble.',
        "Fully consistent with the character's earlier words and stance.",
      ],
      zh: ['与角色先前的言行相矛盾。', '大体一致，略有出入。', '与角色先前的言语和立场完全一致。'],
    },
  },
  Exposure: {
    zh: '知识曝光度',
    task: {
      en: 'How much does the reply show of what this character specifically knows (its life, world, relations, skills), rather than saying something anyone could say?',
      zh: '回复在多大程度上展现了这个角色特有的知识（其经历、世界、人物关系、本领），而不是谁都能说的话？',
    },
    anchors: {
      en: [
        'Generic: nothing specific to the character.',
        'Some character-specific knowledge.',
        'Rich in knowledge only this character would have, used fittingly.',
      ],
      zh: ['泛泛而谈：没有任何角色特有的内容。', '有一些角色特有的知识。', '恰当地运用了大量只有这个角色才有的知识。'],
    },
  },
  Accuracy: {
    zh: '知识准确率',
    task: {
      en: 'Is what the reply states about the character and its world correct according to the profile and the story?',
      zh: '回复中关于角色及其世界的说法，按角色设定和原作来看是否正确？',
    },
    anchors: {
      en: [
        'States things about the character or its world that are wrong.',
        'Mostly correct, with a minor error or vagueness.',
        'Everything it states is correct.',
      ],
      zh: ['说出了关于角色或其世界的错误内容。', '大体正确，有小错误或含糊之处。', '所说的一切都正确。'],
    },
  },
  Hallucination: {
    zh: '知识幻觉性',
    task: {
      en: 'Does the reply avoid knowledge the character could not have (things from another era or world, facts it could not know)? A higher score means fewer such slips.',
      zh: '回复是否避免了角色不可能具备的知识（别的时代或世界的东西、角色不可能知道的事实）？分数越高表示此类失误越少。',
    },
    anchors: {
      en: [
        'Uses knowledge the character clearly could not have.',
        'A doubtful detail, but nothing blatant.',
        'Stays entirely within what the character could know.',
      ],
      zh: ['用到了角色显然不可能具备的知识。', '有可疑的细节，但没有明显出格。', '完全停留在角色可能知道的范围内。'],
    },
  },
  Utterance: {
    zh: '言语一致性',
    task: {
      en: 'Does the reply sound like this character: its tone, wording, verbal habits and catchphrases?',
      zh: '回复听起来是否像这个角色：语气、用词、说话习惯和口头禅？',
    },
    anchors: {
      en: ['Sounds nothing like the character.', "Partly in the character's voice.", "Unmistakably the character's voice."],
      zh: ['完全不像这个角色说的话。', '部分带有角色的说话风格。', '一听就是这个角色的口吻。'],
    },
  },
  Behavior: {
    zh: '行为一致性',
    task: {
      en: 'Do the actions and expressions in the reply (usually in parentheses) fit how this character behaves? A reply without any action is judged on whether its manner fits.',
      zh: '回复中的动作和神态（通常写在括号里）是否符合这个角色的行为方式？没有动作描写的回复，就看其表现方式是否相符。',
    },
    anchors: {
      en: [
        'Behaves in a way the character would not.',
        'Plausible behaviour, but nothing characteristic.',
        "Actions and manner that are distinctly the character's.",
      ],
      zh: ['表现出角色不会有的行为。', '行为说得过去，但没有角色特色。', '动作和举止鲜明地属于这个角色。'],
    },
  },
  Humanlikeness: {
    zh: '类人程度',
    task: {
      en: 'Does the reply read like a real person in the story talking, rather than an AI assistant (no assistant tone, no lecturing, no stepping out of the story)?',
      zh: '回复读起来是否像故事中的真人在说话，而不像AI助手（没有助手腔、不说教、不跳出故事）？',
    },
    anchors: {
      en: ['Reads like an AI assistant or breaks character.', 'Human enough, but stiff or formulaic in places.', 'Entirely like a real person speaking.'],
      zh: ['读起来像AI助手，或跳出了角色。', '还算像人，但有些地方生硬或套路化。', '完全像一个真人在说话。'],
    },
  },
  Communication_skills: {
    zh: '交流技巧',
    task: {
      en: 'Does the reply handle the other person well: read the situation, respond with tact or wit as the character would, and move the exchange forward?',
      zh: '回复是否善于与对方交流：看清局面，以角色的方式得体或机智地回应，并推动交流继续？',
    },
    anchors: {
      en: [
        'Tactless or clumsy; stalls the exchange.',
        'Adequate handling of the exchange.',
        "Skilful: reads the situation and responds with the character's tact or wit.",
      ],
      zh: ['不得体或笨拙，让交流停滞。', '交流处理得尚可。', '很有技巧：看清局面，以角色的分寸或机智作出回应。'],
    },
  },
  Diversity: {
    zh: '表现多样性',
    task: {
      en: 'Is the reply vivid and varied in expression (word choice, imagery, actions) rather than bland, repetitive or templated?',
      zh: '回复的表达是否生动多样（用词、意象、动作），而不是平淡、重复或模板化？',
    },
    anchors: {
      en: ['Bland, repetitive or templated.', 'Some colour, but mostly ordinary.', 'Vivid and varied expression.'],
      zh: ['平淡、重复或模板化。', '有些亮点，但大多平常。', '表达生动而多样。'],
    },
  },
  Empathy: {
    zh: '共情度',
    task: {
      en: 'Does the reply perceive how the other person feels and respond to it in a way that fits the character?',
      zh: '回复是否察觉到对方的感受，并以符合角色的方式作出回应？',
    },
    anchors: {
      en: [
        "Ignores or misreads the other person's feelings.",
        'Notices the feelings, but responds flatly.',
        'Understands the feelings and responds to them warmly or fittingly, in character.',
      ],
      zh: ['忽视或误读了对方的感受。', '察觉到了对方的感受，但回应平淡。', '理解对方的感受，并以符合角色的方式给予温暖或恰当的回应。'],
    },
  },
};

export const METRIC_NAMES = Object.keys(METRICS) as CharacterEvalMetric[];

export function isMetric(s: string): s is CharacterEvalMetric {
  return Object.hasOwn(METRICS, s);
}

/** The leaderboard's groups of metrics, under the names the CharacterEval paper gives them. */
export const GROUPS: Record<string, readonly CharacterEvalMetric[]> = {
  'Conversational Ability': ['Fluency', 'Coherence', 'Consistency'],
  'Character Consistency': ['Exposure', 'Accuracy', 'Hallucination', 'Utterance', 'Behavior'],
  'Role-playing Attractiveness': ['Humanlikeness', 'Communication_skills', 'Diversity', 'Empathy'],
};
