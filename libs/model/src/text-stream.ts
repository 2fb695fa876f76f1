// Incremental text of a sequence being generated, for streaming: each new token re-derives the
// visible text and hands on only the part that can no longer change. Held back until a later token
// settles them: a trailing U+FFFD (the first bytes of a character whose other bytes are still to
// come) and a tail that could be the start of a string that will be cut away (a stop string, a
// chat marker). So the pieces never hold a broken character or text past a stop, and joined they
// are exactly the final text.

/** The longest prefix of `text` that later tokens cannot change, given the strings `holdBack`. */
export function settledPrefix(text: string, holdBack: readonly string[]): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  const longest = holdBack.reduce((m, h) => Math.max(m, h.length), 0);
  // The earliest start of a tail that some held-back string begins with (a full occurrence has
  // already been cut or stripped by the caller's text function).
  for (let p = Math.max(0, end - longest + 1); p < end; p++) {
    const tail = text.slice(p, end);
    if (holdBack.some((h) => h.length > tail.length && h.startsWith(tail))) return text.slice(0, p);
  }
  return text.slice(0, end);
}

export class TextStream {
  readonly #ids: number[] = [];
  #emitted = '';

  /**
   * `text` maps the tokens so far to the text a client would get if generation ended there (decoded,
   * markers stripped, cut at a stop string); `emit` receives each new non-empty piece.
   */
  constructor(
    private readonly text: (ids: number[]) => string,
    private readonly holdBack: readonly string[],
    private readonly emit: (piece: string) => void,
  ) {}

  /** What has been emitted so far. */
  get emitted(): string {
    return this.#emitted;
  }

  /** Adds a token; emits the text it settles, if any. */
  push(token: number): void {
    this.#ids.push(token);
    this.#advance(settledPrefix(this.text(this.#ids), this.holdBack));
  }

  /** Emits what remains of `final`, the sequence's whole text once generation has ended. */
  finish(final: string): void {
    this.#advance(final);
  }

  #advance(next: string): void {
    // A text that does not extend what was sent cannot be sent (a piece cannot be taken back);
    // the held-back strings make that case unreachable for the callers here.
    if (next.length > this.#emitted.length && next.startsWith(this.#emitted)) {
      const piece = next.slice(this.#emitted.length);
      this.#emitted = next;
      this.emit(piece);
    }
  }
}
