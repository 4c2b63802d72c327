// The cancellation a request's stages share (timeouts, a client that went
// away): what the stages used of AbortSignal, without it. An
// AbortController and its EventTarget cost ~4% of a proxied request's CPU,
// and every request made two; this is a flag, a reason and a short list.
// Every listener runs once, at the abort.

export class RequestSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: (() => void)[] | null = null;

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.#listeners!.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners) for (const f of listeners) f();
  }

  /** Aborted when the first of `signals` is, with its reason. */
  static any(signals: readonly RequestSignal[]): RequestSignal {
    const out = new RequestSignal();
    for (const s of signals) {
      if (s.aborted) { out.abort(s.reason); break; }
      s.addEventListener('abort', () => out.abort(s.reason));
    }
    return out;
  }
}
