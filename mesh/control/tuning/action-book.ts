// The engine's memory of its actions: the newest state of each (for
// cooldowns, approvals, verification and the policy's `recent_actions`),
// written through to the store as one row per state. A store that refuses
// or fails a row is counted and logged; the action itself goes on (the
// mesh must not keep a sick instance because ClickHouse was slow).

import { randomUUID } from 'node:crypto';
import type { ActionRecord, TapStore } from '../../../ingest/index.ts';
import type { RecentAction } from './contract.ts';

/** What the engine needs of the store's action table. */
export type ActionLog = Pick<TapStore, 'writeAction' | 'actions' | 'actionHistory'>;

/** How long records stay in memory (the policy sees `recent_actions` from this far back). */
const MEMORY_MS = 60 * 60_000;
const MAX_KEPT = 500;

export class ActionBook {
  readonly #byId = new Map<string, ActionRecord>();
  #lastAt = 0;
  #writeErrors = 0;
  #lastError = '';
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly log: ActionLog, private readonly now: () => number, private readonly warn: (m: string) => void) {}

  /** Loads the last hour from the store, so a restarted engine keeps its cooldowns and what it scaled. */
  async load(): Promise<number> {
    const rows = await this.log.actions({ since: this.now() - MEMORY_MS, limit: MAX_KEPT });
    for (const r of rows.reverse()) this.#byId.set(r.id, r);
    return rows.length;
  }

  /** A new action's first state. */
  create(r: Omit<ActionRecord, 'id' | 'updated_at' | 'proposed_at'>): ActionRecord {
    const at = this.#stamp();
    const rec: ActionRecord = { ...r, id: randomUUID(), proposed_at: at, updated_at: at };
    this.#put(rec);
    return rec;
  }

  /** The next state of an action (updated_at strictly after the previous one). */
  update(id: string, change: Partial<Omit<ActionRecord, 'id' | 'proposed_at' | 'kind'>>): ActionRecord {
    const old = this.#byId.get(id);
    if (!old) throw new Error(`no action ${id}`);
    const rec: ActionRecord = { ...old, ...change, updated_at: Math.max(this.#stamp(), old.updated_at + 1) };
    this.#put(rec);
    return rec;
  }

  get(id: string): ActionRecord | undefined { return this.#byId.get(id); }

  /** Newest first. */
  all(): ActionRecord[] {
    return [...this.#byId.values()].sort((a, b) => b.updated_at - a.updated_at);
  }

  /** As the policy sees them: newest first. */
  recent(): RecentAction[] {
    return this.all().map((r) => ({ id: r.id, kind: r.kind, subject: r.subject, state: r.state, at: r.proposed_at, params: r.params }));
  }

  counters(): { write_errors: number; last_write_error: string } { return { write_errors: this.#writeErrors, last_write_error: this.#lastError }; }

  /** Resolves when every row handed to the store so far is written (or failed). */
  async flush(): Promise<void> { await Promise.all([...this.#pending]); }

  #stamp(): number {
    this.#lastAt = Math.max(this.now(), this.#lastAt + 1);
    return this.#lastAt;
  }

  #put(rec: ActionRecord): void {
    // Re-inserted, so the map's order is update order and eviction takes the oldest.
    this.#byId.delete(rec.id);
    this.#byId.set(rec.id, rec);
    const cutoff = this.now() - MEMORY_MS;
    for (const [id, r] of this.#byId) {
      if (this.#byId.size <= MAX_KEPT && r.updated_at >= cutoff) break;
      if (!['awaiting_approval', 'applied'].includes(r.state)) this.#byId.delete(id);
    }
    const p = this.log.writeAction(rec).catch((e: unknown) => {
      this.#writeErrors++;
      this.#lastError = (e as Error).message;
      this.warn(`action ${rec.id} (${rec.state}) not recorded: ${this.#lastError}`);
    });
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
