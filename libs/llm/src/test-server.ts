// A real HTTP server on 127.0.0.1 for the client tests: each request is answered by a
// scripted behaviour (answer, delay, fail with a status, cut the connection, send garbage).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | { kind: 'answer'; content?: string | string[]; delayMs?: number; usage?: [number, number]; logprobs?: boolean }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'cut'; afterHeaders?: boolean }
  | { kind: 'garbage'; body: string }
  | { kind: 'hang' };

export interface Received {
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
}

export class FakeChatServer {
  readonly received: Received[] = [];
  /** The requests whose scripted answer (kind 'answer') was written whole: the calls that finished. */
  readonly delivered: Received[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closedEarly = 0;
  #server: Server;
  #script: Behaviour[] = [];
  #fallback: Behaviour = { kind: 'answer' };
  #responder: ((body: Record<string, unknown>) => Behaviour | undefined) | undefined;
  #sockets = new Set<import('node:net').Socket>();
  #port: number | undefined;

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.#port}/v1`;
  }

  /**
   * After stop(): listens again on the port it had (same URL), keeping what it received, for
   * tests of a server that went down mid-run and came back.
   */
  async startAgain(): Promise<string> {
    if (this.#port === undefined) throw new Error('startAgain() needs a server that was started and stopped');
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return `http://127.0.0.1:${this.#port}/v1`;
  }

  /** The next requests get these behaviours, in order; after that, `fallback`. */
  script(...behaviours: Behaviour[]): this {
    this.#script.push(...behaviours);
    return this;
  }

  fallback(b: Behaviour): this {
    this.#fallback = b;
    return this;
  }

  /**
   * Answers from the request itself when the script is empty: `fn` gets the parsed body (model,
   * messages, ...) and returns a behaviour, or undefined for the fallback. For protocol tests
   * where the answer depends on who is asked (an actor, a judge of one dimension...).
   */
  respond(fn: (body: Record<string, unknown>) => Behaviour | undefined): this {
    this.#responder = fn;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // keep {}: the test will notice
    }
    const received = { body, headers: req.headers };
    this.received.push(received);
    const b = this.#script.shift() ?? this.#responder?.(body) ?? this.#fallback;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let closed = false;
    res.on('close', () => {
      if (!res.writableEnded) {
        closed = true;
        this.closedEarly++;
      }
      this.inFlight--;
    });
    const wait = async (ms = 0) => {
      const end = Date.now() + ms;
      while (!closed && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(10, end - Date.now())));
    };
    switch (b.kind) {
      case 'hang':
        return; // never answers; the client's timeout or abort ends it
      case 'cut':
        if (b.afterHeaders) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"choices": [');
          res.flushHeaders();
          await wait(20);
        }
        res.socket?.destroy();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(b.body);
        return;
      case 'status':
        await wait(b.delayMs);
        if (closed) return;
        res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
        res.end(b.body ?? JSON.stringify({ error: { message: `status ${b.status}` } }));
        return;
      case 'answer': {
        await wait(b.delayMs);
        if (closed) return;
        const n = typeof body.n === 'number' ? body.n : 1;
        const contents = Array.isArray(b.content) ? b.content : Array.from({ length: n }, (_, i) => `${b.content ?? 'reply'}${n > 1 ? ` ${i}` : ''}`);
        res.once('finish', () => this.delivered.push(received));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'cmpl-test',
            model: String(body.model ?? ''),
            choices: contents.map((content, index) => ({
              index,
              message: { role: 'assistant', content },
              finish_reason: 'stop',
              ...(b.logprobs ? { logprobs: { content: [{ token: content, logprob: -0.5, top_logprobs: [{ token: content, logprob: -0.5 }] }] } } : {}),
            })),
            usage: { prompt_tokens: b.usage?.[0] ?? 11, completion_tokens: b.usage?.[1] ?? 7 },
          }),
        );
      }
    }
  }
}
