// Keeps the demo's sidecar processes running: a child that exits without
// having been asked to (a crash, a kill -9) is started again with the same
// arguments after a backoff that doubles with each restart in a row, up to
// a cap, and starts over once a child has stayed up a while. Every restart
// is logged and counted:
//
//   supervisor: sidecar cart-1 exited (signal SIGKILL), restarting in 200 ms (restart 1)
//
// A restarted sidecar keeps what it needs in its --state-dir (identity,
// tap spool), so it comes back as the same proxy and delivers the taps its
// predecessor left unsent. A child started in a network namespace is
// restarted in the same one. A child removed on purpose (remove(): a
// scale-down) is stopped and forgotten, never restarted.

import { Child } from './child.ts';

export interface SupervisorOptions {
  log: (line: string) => void;
  /** Delay before the first restart in a row; doubles for each next one. Default 200 ms. */
  backoffMs?: number;
  /** Longest delay between restarts. Default 10 s. */
  maxBackoffMs?: number;
  /** A child up this long counts as healthy: its next restart waits backoffMs again. Default 30 s. */
  healthyAfterMs?: number;
}

interface Slot {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  netns?: string;
  startedAt: number;
  restarts: number;
  inARow: number;
  timer: NodeJS.Timeout | null;
}

export class Supervisor {
  /** The current process of each child, by key; a restart replaces the entry. */
  readonly children = new Map<string, Child>();
  readonly #slots = new Map<string, Slot>();
  readonly #o: Required<SupervisorOptions>;
  #stopping = false;

  constructor(opts: SupervisorOptions) {
    // `?? default` per field: an option passed as undefined (startDemoMesh's restartBackoffMs) keeps its default.
    this.#o = { log: opts.log, backoffMs: opts.backoffMs ?? 200, maxBackoffMs: opts.maxBackoffMs ?? 10_000, healthyAfterMs: opts.healthyAfterMs ?? 30_000 };
  }

  /** Starts `args` as child `name` (the log prefix) under `key`, in `netns` if given, and keeps it running until stop(). */
  start(key: string, name: string, args: string[], env: NodeJS.ProcessEnv = {}, netns?: string): Child {
    const slot: Slot = { name, args, env, netns, startedAt: 0, restarts: 0, inARow: 0, timer: null };
    this.#slots.set(key, slot);
    return this.#spawn(key, slot);
  }

  /** Restarts of each child so far. */
  restarts(): Record<string, number> {
    return Object.fromEntries([...this.#slots].map(([k, s]) => [k, s.restarts]));
  }

  /** Stops one child for good (SIGTERM, then SIGKILL after `deadlineMs`; no restart) and forgets it; false if there is no such child. */
  async remove(key: string, deadlineMs = 5_000): Promise<boolean> {
    const slot = this.#slots.get(key);
    if (!slot) return false;
    this.#slots.delete(key);
    if (slot.timer) clearTimeout(slot.timer);
    const child = this.children.get(key);
    this.children.delete(key);
    await child?.stop(deadlineMs);
    return true;
  }

  /** Stops every child (SIGTERM, then SIGKILL after `deadlineMs`) and cancels pending restarts. */
  async stop(deadlineMs = 5_000): Promise<void> {
    this.#stopping = true;
    for (const s of this.#slots.values()) if (s.timer) clearTimeout(s.timer);
    await Promise.all([...this.children.values()].map((c) => c.stop(deadlineMs)));
  }

  #spawn(key: string, slot: Slot): Child {
    const child = new Child(slot.name, slot.args, this.#o.log, slot.env, { netns: slot.netns });
    slot.startedAt = Date.now();
    this.children.set(key, child);
    void child.ended.then(({ code, signal }) => {
      if (this.#stopping || child.stopRequested) return;
      if (Date.now() - slot.startedAt >= this.#o.healthyAfterMs) slot.inARow = 0;
      const delay = Math.min(this.#o.backoffMs * 2 ** slot.inARow, this.#o.maxBackoffMs);
      slot.inARow++;
      slot.restarts++;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      this.#o.log(`supervisor: ${slot.name} exited (${how}), restarting in ${delay} ms (restart ${slot.restarts})`);
      slot.timer = setTimeout(() => {
        slot.timer = null;
        if (!this.#stopping) this.#spawn(key, slot);
      }, delay);
    });
    return child;
  }
}
