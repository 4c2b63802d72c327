// The one interface every per-request stage implements. A stage does its part
// and calls next() to hand over to the rest of the chain; it may act before
// (route, balance), around (timeout, tap, rescue) or instead of (an error) the
// stages after it. Adding a concern is adding a file and a line in chain.ts.
//
// A stage that only acts before the rest (checks, rewrites) is a plain
// function returning next()'s promise, and refuses by throwing: an async
// function would cost every request a promise and a microtask turn more.
// runChain and every `await next()` turn such a throw into a rejection.

import type { RequestContext } from './context.ts';

export interface Stage {
  readonly name: string;
  handle(ctx: RequestContext, next: () => Promise<void>): Promise<void>;
}

/** Runs stages in order; calling next() past the last stage is a no-op. */
export function runChain(stages: readonly Stage[], ctx: RequestContext): Promise<void> {
  const at = (i: number): Promise<void> => (i < stages.length ? stages[i].handle(ctx, () => at(i + 1)) : Promise.resolve());
  try {
    return at(0);
  } catch (e) {
    return Promise.reject(e);
  }
}
