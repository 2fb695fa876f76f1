// Token labels for the PMI signal measurement, and the response rows it scores against the
// trainer's own log-probability path.
import { LlamaModel, parseConfig, shiftTargets, tf, tokenLogprobs } from '@rapo/model';
import { factValue, generateWorld } from '@rapo/testbed';
import { describe, expect, it } from 'vitest';
import { auc } from './pmi-signal.js';
import { labelSpans, replyMask, tokenLabels } from './labels.js';
import { logitRows } from './rapo.js';

describe('auc', () => {
  it('is the chance that a draw from the first sample beats one from the second, ties counting half', () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    expect(auc([1, 3], [2])).toBe(0.5);
    expect(auc([2, 2], [2, 2, 2])).toBe(0.5);
    // Brute force over every pair on a sample with ties.
    const a = [0.5, 1, 1, 2, 7];
    const b = [1, 1, 3, -2];
    let wins = 0;
    for (const x of a) for (const y of b) wins += x > y ? 1 : x === y ? 0.5 : 0;
    expect(auc(a, b)).toBeCloseTo(wins / (a.length * b.length), 12);
    expect(auc([], [1])).toBeNaN();
  });
});

describe('token labels', () => {
  const c = generateWorld({ seed: 3, characters: 6 }).characters[0]!;

  it('finds the character facts and the generic phrases as whole words', () => {
    const text = `I work as ${factValue(c, 'occupation')} in ${c.hometown}. I truly understand how you feel. Nothing else.`;
    const spans = labelSpans(text, c);
    const role = spans.filter((s) => s.label === 'role').map((s) => text.slice(s.start, s.end));
    expect(role).toContain(factValue(c, 'occupation'));
    expect(role).toContain(c.hometown);
    expect(spans.filter((s) => s.label === 'generic').map((s) => text.slice(s.start, s.end))).toEqual(['I truly understand how you feel']);
    // Inside another word is no mention.
    expect(labelSpans(`x${c.hometown}y`, c).filter((s) => s.label === 'role' && s.start === 1)).toEqual([]);
  });

  it('gives each token the label of the span it overlaps, a leading space not counting', () => {
    const text = `From ${c.hometown}. That sounds really difficult.`;
    const pieces = ['From', ` ${c.hometown}`, '.', ' That', ' sounds', ' really', ' difficult', '.'];
    expect(pieces.join('')).toBe(text);
    expect(tokenLabels(pieces, labelSpans(text, c))).toEqual(['other', 'role', 'other', 'generic', 'generic', 'generic', 'generic', 'other']);
    // A piece that is only the space before a span stays other.
    expect(tokenLabels(['From', ' ', c.hometown], labelSpans(`From ${c.hometown}`, c))).toEqual(['other', 'other', 'role']);
  });
});

describe('reply mask', () => {
  it('marks the tokens that start after the closing think tag, and every token of an answer without one', () => {
    const text = '<think>I am from Pellmoor.</think>\nPellmoor, aye.';
    const pieces = ['<think>', 'I am from', ' Pellmoor', '.</think>', '\n', 'Pellmoor', ', aye.'];
    expect(pieces.join('')).toBe(text);
    expect(replyMask(pieces, text)).toEqual([false, false, false, false, true, true, true]);
    expect(replyMask(['Pellmoor', ', aye.'], 'Pellmoor, aye.')).toEqual([true, true]);
  });
});

describe('response logit rows', () => {
  it('are the rows that predict each response token, in batches of any size, padding included', () => {
    const model = LlamaModel.init(
      parseConfig({
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        intermediate_size: 24,
        max_position_embeddings: 32,
      }),
      5,
    );
    const seqs = [
      { prompt: [1, 2, 3, 4], response: [5, 6, 7] },
      { prompt: [8, 9], response: [10, 11, 12, 13, 14] },
      { prompt: [15, 16, 17], response: [18] },
    ];
    const V = 40;
    const rows = logitRows(model, seqs, 0, 2);
    expect(rows.length).toBe(9 * V);
    // The sum of log p(response token) from the rows equals the trainer's tokenLogprobs on each
    // sequence alone (no padding), computed in float64.
    let k = 0;
    for (const s of seqs) {
      const ids = [[...s.prompt, ...s.response]];
      const { targets, mask } = shiftTargets(ids, [[...s.prompt.map(() => 0), ...s.response.map(() => 1)]]);
      const T = ids[0]!.length;
      const lp = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(ids, [1, T], 'int32'), tf.ones([1, T], 'int32')).logits;
        return tokenLogprobs(logits, tf.tensor2d(targets, [1, T], 'int32'), tf.tensor2d(mask, [1, T], 'float32'))
          .sum()
          .dataSync()[0]!;
      });
      let fromRows = 0;
      for (const tok of s.response) {
        const row = Array.from(rows.subarray(k * V, (k + 1) * V));
        const max = Math.max(...row);
        fromRows += row[tok]! - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
        k++;
      }
      expect(fromRows).toBeCloseTo(lp, 3);
    }
    model.dispose();
  });
});
