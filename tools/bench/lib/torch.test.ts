// The PyTorch column: skipped with the reason and the remedy when no Python has torch; where one
// has (apt-get install python3-torch), the reference runs the same work on a tiny decoder.
import { blasInfo } from '@rapo/kernels';
import { parseConfig } from '@rapo/model';
import { describe, expect, it } from 'vitest';
import { runTorch, torchAvailable } from './torch.js';

const TINY = parseConfig({
  vocab_size: 64,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 24,
  max_position_embeddings: 64,
});
const torch = torchAvailable();

describe('the PyTorch peer', () => {
  it('says why it is skipped and how to get it', () => {
    const r = torchAvailable(['/nonexistent/python3', process.execPath]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/^\/nonexistent\/python3 could not be started \(.*ENOENT.*\); .* cannot import torch/);
    expect(r.reason).toContain('apt-get install python3-torch');
  });

  it.skipIf(!torch.ok)('trains and decodes the same shapes, on the threads asked for', () => {
    if (!torch.ok) return;
    const t = runTorch(TINY, { task: 'train', batch: 2, seq: 16, runs: 1 }, 1, torch.python);
    expect(t.threads).toBe(1);
    // Both sides run the same OpenBLAS kernels when rapo's loader chose them.
    const rapoCore = blasInfo().core;
    if (t.blasCore !== null && rapoCore !== 'none') expect(t.blasCore).toBe(rapoCore);
    expect(t.seconds).toBeGreaterThan(0);
    expect(t.tokensPerSecond).toBeCloseTo(32 / t.seconds, 6);
    const g = runTorch(TINY, { task: 'generate', batch: 3, newTokens: 8 }, 1, torch.python);
    expect(g.tokensPerSecond).toBeCloseTo(24 / g.seconds, 6);
    expect(() => runTorch(TINY, { task: 'generate', batch: 1, newTokens: 100 }, 1, torch.python)).toThrow(/The PyTorch benchmark failed .*generate/);
  });
});
