// One concurrency bound: at most `concurrent` requests hold a slot; up to
// `queue` more wait for one in arrival order, each at most `waitMs`; the rest
// are refused at once. Limits are passed on every entry, so a new config
// snapshot changes them without losing count of the requests in flight.
// Why this shape is the stage's story: stages/admission.ts.

import type { RequestSignal } from './request-signal.ts';
import type { AdmissionCounters } from './runtime.ts';

export interface AdmissionLimits {
  concurrent: number;
  queue: number;
  waitMs: number;
}

/** Admitted (call release() once the exchange is over), or why not. */
export type Admission =
  | { admitted: true; release: () => void }
  | { admitted: false; why: 'full' | 'waited' | 'cancelled' };

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export class AdmissionGate {
  readonly counters: AdmissionCounters;
  readonly #waiters: Waiter[] = [];
  #limit = Infinity;

  constructor(counters: AdmissionCounters) {
    this.counters = counters;
  }

  /**
   * A slot now, or null when the request would have to queue or be refused
   * (then enter() decides): the common case without a promise.
   */
  tryEnter(limits: AdmissionLimits): (() => void) | null {
    this.#limit = limits.concurrent;
    this.#drain();
    if (this.counters.in_flight < limits.concurrent && this.#waiters.length === 0) return this.#admit().release;
    return null;
  }

  /** Resolves at once unless the request has to wait; `cancel` (the client went away) ends a wait. */
  enter(limits: AdmissionLimits, cancel?: RequestSignal): Promise<Admission> {
    const c = this.counters;
    this.#limit = limits.concurrent;
    this.#drain(); // a raised limit lets waiters in before newcomers
    if (c.in_flight < limits.concurrent && this.#waiters.length === 0) return Promise.resolve(this.#admit());
    if (this.#waiters.length >= limits.queue) {
      c.shed++;
      return Promise.resolve({ admitted: false, why: 'full' });
    }
    c.queued++;
    c.waiting++;
    return new Promise<Admission>((resolve) => {
      const leave = (why: 'waited' | 'cancelled') => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        c.waiting--;
        clearTimeout(waiter.timer);
        cancel?.removeEventListener('abort', onCancel);
        if (why === 'waited') c.shed++;
        resolve({ admitted: false, why });
      };
      const onCancel = () => leave('cancelled');
      const waiter: Waiter = {
        timer: setTimeout(() => leave('waited'), limits.waitMs),
        admit: () => {
          c.waiting--;
          clearTimeout(waiter.timer);
          cancel?.removeEventListener('abort', onCancel);
          resolve(this.#admit());
        },
      };
      this.#waiters.push(waiter);
      cancel?.addEventListener('abort', onCancel, { once: true });
    });
  }

  #admit(): { admitted: true; release: () => void } {
    const c = this.counters;
    c.in_flight++;
    c.admitted++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        c.in_flight--;
        this.#drain();
      },
    };
  }

  /** Free slots go to the longest waiters (FIFO), as many as the current limit allows. */
  #drain(): void {
    while (this.#waiters.length > 0 && this.counters.in_flight < this.#limit) this.#waiters.shift()!.admit();
  }
}
