// The inbound authorization policy in force on this sidecar, and how it
// changes. Each snapshot names a bundle digest (policy_digest); want() makes
// that the wanted one and, if it is not loaded, fetches and loads it, and
// swaps it in only once it is ready. Until then the previous policy keeps
// deciding (a request evaluates synchronously, so it never sees two). A
// bundle that cannot be fetched, verified or loaded leaves the previous
// policy in place; it is retried with backoff while it stays wanted.
//
// Warming: a sidecar under a control plane does not know its policy until
// the first snapshot arrives and the bundle it names has loaded. A request
// met before then waits for that (warming(), at most warmMs), as Envoy holds
// a listener until its resources arrive; otherwise a new instance, published
// to its callers as soon as it says hello, would deny its first requests
// with policy_unavailable while its bundle is still in flight.
//
// decide() is the per-request answer:
//   no snapshot yet (under a control plane) → as "nothing loaded" below
//   no policy wanted (digest "")            → none  (traffic flows)
//   wanted, a policy loaded                 → the loaded policy's allow/deny
//   wanted, nothing loaded yet or ever      → deny policy_unavailable
//                                             (fail-open: none, policy_unavailable_fail_open)
//   the policy throws or breaks the contract → deny policy_error

import type { AuthzPolicy } from '../../policy/index.ts';

export type Decision = { decision: 'allow' | 'deny' | 'none'; reason: string };

/** What want() resolves to for one snapshot version. */
export type PolicyOutcome = { kind: 'loaded' } | { kind: 'failed'; error: string } | { kind: 'superseded' };

export interface InboundPolicyCounters {
  /** Digest the newest snapshot names ("" for no policy). */
  wanted_digest: string;
  /** Digest of the bundle deciding now ("" for none). */
  loaded_digest: string;
  /** Snapshot version that brought the loaded bundle. */
  loaded_version: number;
  loads: number;
  load_failures: number;
  allowed: number;
  denied: number;
  /** Decisions that failed (evaluation error or a result outside the contract): denied as policy_error. */
  errors: number;
  /** Requests met while a wanted policy was not loaded (denied, or let through with fail_open). */
  unavailable: number;
  /** Requests that waited for the first snapshot's policy (warming) before their decision. */
  warm_waits: number;
  fail_open: boolean;
  last_error: string;
}

export interface InboundPolicyOptions {
  load: (digest: string) => Promise<AuthzPolicy>;
  failOpen: boolean;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /**
   * Under a control plane: no decision can be made until the first snapshot
   * names a policy (or none) and it has loaded or failed; a request waits at
   * most warmMs for that (default 5000), then is decided as it stands.
   */
  awaitFirstSnapshot?: boolean;
  warmMs?: number;
  /** A bundle that failed for `version` loaded on a later retry: that version is in force now. */
  onRecovered?: (version: number) => void;
  log?: (message: string) => void;
}

export class InboundPolicy {
  readonly #o: InboundPolicyOptions;
  /** null: no snapshot yet (under a control plane). */
  #wanted: string | null = '';
  #wantedVersion = 0;
  #warm: { done: Promise<void>; end: () => void } | null = null;
  #loaded: AuthzPolicy | null = null;
  readonly #inFlight = new Map<string, Promise<AuthzPolicy>>();
  #retry: NodeJS.Timeout | null = null;
  #retryDelay: number;
  #closed = false;
  readonly #c: InboundPolicyCounters;

  constructor(opts: InboundPolicyOptions) {
    this.#o = opts;
    this.#retryDelay = opts.retryInitialMs ?? 500;
    this.#c = {
      wanted_digest: '', loaded_digest: '', loaded_version: 0, loads: 0, load_failures: 0,
      allowed: 0, denied: 0, errors: 0, unavailable: 0, warm_waits: 0, fail_open: opts.failOpen, last_error: '',
    };
    if (opts.awaitFirstSnapshot) {
      this.#wanted = null;
      let end!: () => void;
      const done = new Promise<void>((resolve) => { end = resolve; });
      this.#warm = { done, end };
    }
  }

  counters(): InboundPolicyCounters { return { ...this.#c }; }

  /** Makes `digest` the wanted policy. null: in force already, nothing to wait for. */
  want(digest: string, version: number): Promise<PolicyOutcome> | null {
    this.#wanted = digest;
    this.#wantedVersion = version;
    this.#c.wanted_digest = digest;
    if (digest === '') {
      this.#swap(null, version);
      this.#warmed();
      return null;
    }
    if (this.#loaded?.digest === digest) return null;
    this.#resetRetry();
    const outcome = this.#attempt(digest, version);
    if (this.#warm) void outcome.then(() => { if (this.#wanted === digest) this.#warmed(); });
    return outcome;
  }

  /**
   * While the first snapshot's policy is not settled (loaded, failed or none
   * named): a promise that resolves when it is, or after warmMs. null once
   * warm, so a request past start-up never waits here.
   */
  warming(): Promise<void> | null {
    if (!this.#warm) return null;
    this.#c.warm_waits++;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.#o.warmMs ?? 5_000); });
    return Promise.race([this.#warm.done, late]).finally(() => clearTimeout(timer));
  }

  /** The decision for one request; `input` is built only when a policy will read it. */
  decide(input: () => unknown): Decision {
    if (this.#wanted === '') return { decision: 'none', reason: '' };
    const policy = this.#loaded;
    if (!policy) {
      this.#c.unavailable++;
      if (this.#o.failOpen) return { decision: 'none', reason: 'policy_unavailable_fail_open' };
      this.#c.denied++;
      return { decision: 'deny', reason: 'policy_unavailable' };
    }
    try {
      const d = policy.decide(input());
      if (d.allow) this.#c.allowed++; else this.#c.denied++;
      return { decision: d.allow ? 'allow' : 'deny', reason: d.reason };
    } catch (e) {
      this.#c.errors++;
      this.#c.denied++;
      this.#c.last_error = (e as Error).message;
      return { decision: 'deny', reason: 'policy_error' };
    }
  }

  close(): void {
    this.#closed = true;
    this.#resetRetry();
    this.#warmed();
  }

  #warmed(): void {
    this.#warm?.end();
    this.#warm = null;
  }

  async #attempt(digest: string, version: number): Promise<PolicyOutcome> {
    let p = this.#inFlight.get(digest);
    if (!p) {
      p = this.#o.load(digest);
      this.#inFlight.set(digest, p);
      const forget = () => { this.#inFlight.delete(digest); };
      p.then(forget, forget);
    }
    try {
      const policy = await p;
      if (this.#wanted !== digest) return { kind: 'superseded' };
      if (this.#loaded?.digest !== digest) {
        this.#c.loads++;
        this.#swap(policy, version);
      }
      return { kind: 'loaded' };
    } catch (e) {
      const error = (e as Error).message;
      this.#c.load_failures++;
      this.#c.last_error = error;
      this.#o.log?.(`inbound policy for config version ${version} not loaded, keeping ${this.#loaded ? `bundle ${this.#loaded.digest.slice(0, 12)}` : 'no policy'}: ${error}`);
      if (this.#wanted === digest) this.#scheduleRetry(digest);
      return { kind: 'failed', error };
    }
  }

  #swap(policy: AuthzPolicy | null, version: number): void {
    this.#loaded = policy;
    this.#c.loaded_digest = policy?.digest ?? '';
    this.#c.loaded_version = version;
  }

  #scheduleRetry(digest: string): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#wanted !== digest || this.#loaded?.digest === digest) return;
      const version = this.#wantedVersion;
      void this.#attempt(digest, version).then((o) => {
        if (o.kind === 'loaded') { this.#retryDelay = this.#o.retryInitialMs ?? 500; this.#o.onRecovered?.(version); }
      });
    }, this.#retryDelay);
    this.#retry.unref();
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#o.retryMaxMs ?? 30_000);
  }

  #resetRetry(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#retryDelay = this.#o.retryInitialMs ?? 500;
  }
}
