// On-disk response cache: one JSON file per request, named by the SHA-256 of the request (the
// endpoint, the model, the messages and every sampling parameter), so an interrupted run
// resumes without paying twice. Writes are atomic (@rapo/files' writeFileAtomic); a corrupt or
// unreadable entry is reported through onWarning and treated as a miss, never thrown.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@rapo/files';
import type { ChatResponse } from './types.js';

/** JSON with object keys sorted and undefined members dropped, so equal requests hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function requestKey(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

interface Entry {
  version: 1;
  key: string;
  createdAt: string;
  response: Omit<ChatResponse, 'cached'>;
}

function isResponse(x: unknown): x is Omit<ChatResponse, 'cached'> {
  const r = x as ChatResponse;
  return (
    typeof r === 'object' &&
    r !== null &&
    Array.isArray(r.choices) &&
    r.choices.every((c) => typeof c?.content === 'string') &&
    typeof r.usage?.promptTokens === 'number' &&
    typeof r.usage?.completionTokens === 'number' &&
    typeof r.model === 'string'
  );
}

export class ResponseCache {
  constructor(
    readonly dir: string,
    private readonly onWarning: (message: string) => void = (m) => process.emitWarning(m),
  ) {
    mkdirSync(dir, { recursive: true });
  }

  pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  get(key: string): Omit<ChatResponse, 'cached'> | undefined {
    const path = this.pathOf(key);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.onWarning(`rapo llm cache: cannot read ${path} (${(e as Error).message}); asking the model instead`);
      }
      return undefined;
    }
    try {
      const entry = JSON.parse(text) as Entry;
      if (entry.version !== 1 || entry.key !== key || !isResponse(entry.response)) throw new Error('not a cache entry for this request');
      return entry.response;
    } catch (e) {
      this.onWarning(`rapo llm cache: ${path} is corrupt (${(e as Error).message}); ignoring it and asking the model again`);
      return undefined;
    }
  }

  put(key: string, response: Omit<ChatResponse, 'cached'>): void {
    const path = this.pathOf(key);
    const entry: Entry = { version: 1, key, createdAt: new Date().toISOString(), response };
    try {
      writeFileAtomic(path, JSON.stringify(entry));
    } catch (e) {
      this.onWarning(`rapo llm cache: cannot write ${path} (${(e as Error).message}); the answer is not cached`);
    }
  }
}
