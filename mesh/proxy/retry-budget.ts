// A cluster's retry budget, as Linkerd's (Finagle's RetryBudget): over the
// last WINDOW_S seconds, retries may be at most `ratio` of the requests
// plus `min_per_s` a second. Every request deposits, every retry withdraws.
// Why a budget rather than only a retry count: when an upstream is down
// for everyone, N retries per request multiply the load by N+1 just when
// it can least take it (a retry storm, worse across hops); a budget keeps
// the extra load to `ratio` however many requests fail, and min_per_s lets
// a quiet cluster still ride out a blip.
//
// Counted in one-second buckets, so a deposit or withdrawal is a few
// array writes; the window slides a second at a time.

import type { RetryBudget as Budget } from '../control/resilience.ts';

export const WINDOW_S = 10;

export class RetryBudget {
  readonly #requests = new Array<number>(WINDOW_S).fill(0);
  readonly #retries = new Array<number>(WINDOW_S).fill(0);
  /** The second each bucket holds counts for. */
  readonly #second = new Array<number>(WINDOW_S).fill(-1);

  /** One request to the cluster (the first try). */
  deposit(now: number): void {
    this.#requests[this.#bucket(now)]++;
  }

  /** Takes one retry if the budget has one; false when spent. */
  withdraw(now: number, budget: Budget): boolean {
    const b = this.#bucket(now);
    let requests = 0;
    let retries = 0;
    const second = Math.floor(now / 1000);
    for (let i = 0; i < WINDOW_S; i++) {
      if (this.#second[i] <= second - WINDOW_S) continue;
      requests += this.#requests[i];
      retries += this.#retries[i];
    }
    if (retries + 1 > budget.ratio * requests + budget.min_per_s * WINDOW_S) return false;
    this.#retries[b]++;
    return true;
  }

  #bucket(now: number): number {
    const second = Math.floor(now / 1000);
    const i = ((second % WINDOW_S) + WINDOW_S) % WINDOW_S;
    if (this.#second[i] !== second) {
      this.#second[i] = second;
      this.#requests[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }
}
