import { describe, expect, it } from 'vitest';
import {
  buildChatPrompt,
  buildScenePrompt,
  DynamicProfile,
  formatPsyCot,
  parsePsyCot,
  parseProfile,
  PSY_COT_STEPS,
  REASONING_STYLES,
  renderChatTemplate,
  styleInstructions,
} from './index.js';

const mara = parseProfile({ name: 'Mara', identity: 'retired smuggler', speechStyle: 'sailor slang' });
const ines = parseProfile({ name: 'Ines', identity: 'harbour clerk', background: 'x'.repeat(2000) });

describe('prompt builders', () => {
  it("builds a single-turn chat for each style, with the profile and the style's instructions", () => {
    for (const style of REASONING_STYLES) {
      const m = buildChatPrompt({ profile: mara, style, message: 'Why did you quit?' });
      expect(m.map((x) => x.role)).toEqual(['system', 'user']);
      expect(m[0]!.content).toContain('You are Mara.');
      expect(m[0]!.content).toContain('Identity: retired smuggler');
      expect(m[0]!.content).toContain(styleInstructions(style, 'Mara'));
      expect(m[1]!.content).toBe('Why did you quit?');
    }
    const psy = buildChatPrompt({ profile: mara, style: 'psy-cot', message: 'hi' })[0]!.content;
    expect(psy).toContain('1. Interaction perception:');
    expect(psy).toContain("Weigh what just happened against Mara's goals, values, personality and history");
    expect(psy).toContain('<think>\n<perception>step 1</perception>\n<empathy>step 2</empathy>\n<construction>step 3</construction>\n</think>');
    expect(buildChatPrompt({ profile: mara, style: 'inner-monologue', message: 'hi' })[0]!.content).toContain('[square brackets]');
    expect(() => styleInstructions('socratic' as never, 'Mara')).toThrow('Expected one of "none", "generic-cot", "inner-monologue", "psy-cot" for style');
  });

  it('multi-turn chat keeps the history as alternating messages, and shows learned facts', () => {
    const d = new DynamicProfile(mara).learn('Ines owes Mara money.');
    const m = buildChatPrompt({
      profile: d,
      style: 'psy-cot',
      message: 'Can I pay you next week?',
      userName: 'Ines',
      scenario: 'A rainy evening in the tea house.',
      history: [
        { role: 'user', text: 'Evening, Mara.' },
        { role: 'character', text: 'Sit. Tea?' },
      ],
    });
    expect(m.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(m[0]!.content).toContain('Learned during this conversation:\n- Ines owes Mara money.');
    expect(m[0]!.content).toContain('# Scenario\nA rainy evening in the tea house.');
    expect(m[0]!.content).toContain('You are talking with: Ines');
    expect(m[2]!.content).toBe('Sit. Tea?');
  });

  it('scenes show the scenario, the other characters (shortened) and whose turn it is', () => {
    const m = buildScenePrompt({
      profile: mara,
      others: [ines],
      scenario: 'The harbour at dawn.',
      style: 'none',
      otherProfileChars: 100,
      transcript: [
        { speaker: 'Ines', text: 'You came.' },
        { speaker: 'Environment', text: 'Gulls cry.' },
      ],
    });
    expect(m).toHaveLength(2);
    expect(m[0]!.content).toContain('You are Mara, one of the characters in the scene below.');
    expect(m[0]!.content).toContain('## Ines\nName: Ines');
    expect(m[0]!.content).toContain('…');
    expect(m[0]!.content.length).toBeLessThan(1500);
    expect(m[1]!.content).toBe("The scene so far:\nInes: You came.\nEnvironment: Gulls cry.\n\nIt is Mara's turn now.");
    const empty = buildScenePrompt({ profile: mara, others: [], scenario: 's', transcript: [], style: 'psy-cot' });
    expect(empty[1]!.content).toBe("The scene is about to begin.\n\nIt is Mara's turn now.");
  });

  it('has Chinese prompts for the Chinese benchmarks', () => {
    const m = buildChatPrompt({ profile: parseProfile({ name: '李越' }), style: 'psy-cot', message: '你好', lang: 'zh' });
    expect(m[0]!.content).toContain('你是李越。');
    expect(m[0]!.content).toContain(PSY_COT_STEPS.zh.empathy.replaceAll('{name}', '李越'));
  });

  it('renders messages through a Hugging Face chat template', () => {
    const chatml =
      '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';
    const text = renderChatTemplate(chatml, [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
    ]);
    expect(text).toBe('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
    expect(() => renderChatTemplate('{% for %}', [])).toThrow(/does not parse/);
  });

  it('the format the prompt asks for is the format the parser reads', () => {
    const answer = formatPsyCot({ perception: 'p', empathy: 'e', construction: 'c', reply: 'r' });
    expect(parsePsyCot(answer).reply).toBe('r');
  });
});
