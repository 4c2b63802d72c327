// Follows the control plane's config stream (protocol in
// ../control/snapshot.ts): one NDJSON snapshot per line, newest wins. Each
// version is validated, applied atomically and ACKed, or NACKed with its first
// problem while the old config stays in force. When the stream drops, the
// sidecar keeps serving the last good snapshot and reconnects with capped
// exponential backoff.
//
// A snapshot naming a policy bundle not loaded yet is applied at once for
// its routes, but ACKed only once its bundle is loaded (inbound-policy.ts);
// a bundle that fails NACKs the version with the reason while the previous
// policy keeps deciding. If a retry loads it later, the version is ACKed then.

import http from 'node:http';
import https from 'node:https';
import { formatLabels } from '../control/labels.ts';
import type { ConfigAck, ConfigSnapshot } from '../control/snapshot.ts';
import { snapshotProblem } from './config-validate.ts';
import type { InboundPolicy } from './inbound-policy.ts';
import type { RoutingTable } from './routing-table.ts';

const MAX_LINE = 8 * 1024 * 1024;

export interface ConfigStreamOptions {
  controlUrl: string;
  proxy: string;
  service: string;
  instance: string;
  /** Inbound "addr:port" the registry advertises for this instance ("" if none). */
  inbound: string;
  /** This instance's labels, sent as `labels=k=v,k=v` (only when there are some). */
  labels?: Record<string, string>;
  table: RoutingTable;
  /** The inbound authorization policy, told each snapshot's policy_digest. */
  policy?: InboundPolicy;
  retryInitialMs?: number;
  retryMaxMs?: number;
  log?: (message: string) => void;
  /** For an https:// control plane: the client certificate and server check, asked per connection (certificates renew). */
  tls?: () => https.RequestOptions;
}

export interface ConfigStreamCounters {
  version: number;
  applied: number;
  rejected: number;
  /** Snapshots older than the one in force, ignored. */
  stale: number;
  connects: number;
  ack_failures: number;
  last_error: string;
  connected: boolean;
}

export class ConfigStream {
  readonly #o: ConfigStreamOptions;
  #req: http.ClientRequest | null = null;
  #timer: NodeJS.Timeout | null = null;
  #delay: number;
  #closed = false;
  readonly #acks = new Set<Promise<void>>();
  readonly #c: ConfigStreamCounters;

  constructor(opts: ConfigStreamOptions) {
    this.#o = opts;
    this.#delay = opts.retryInitialMs ?? 100;
    this.#c = { version: opts.table.current.version, applied: 0, rejected: 0, stale: 0, connects: 0, ack_failures: 0, last_error: '', connected: false };
  }

  counters(): ConfigStreamCounters { return { ...this.#c }; }

  start(): void {
    if (this.#closed) return;
    const url = new URL('/v1/config/stream', this.#o.controlUrl);
    const query = new URLSearchParams({ proxy: this.#o.proxy, service: this.#o.service, instance: this.#o.instance, inbound: this.#o.inbound });
    if (this.#o.labels && Object.keys(this.#o.labels).length > 0) query.set('labels', formatLabels(this.#o.labels));
    url.search = query.toString();
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { ...this.#o.tls?.(), agent: false, headers: { accept: 'application/x-ndjson' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return this.#retry(`config stream ${url.host}: control plane answered ${res.statusCode}`);
      }
      this.#c.connects++;
      this.#c.connected = true;
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) this.#onLine(line);
        }
        if (buffered.length > MAX_LINE) req.destroy(new Error(`snapshot line longer than ${MAX_LINE} bytes`));
      });
      res.on('error', () => { /* reported by 'close' */ });
      res.on('close', () => this.#retry(`config stream ${url.host}: stream closed`));
    });
    req.on('error', (e) => this.#retry(`config stream ${url.host}: ${e.message}`));
    this.#req = req;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#req?.destroy();
    await Promise.all(this.#acks);
  }

  #retry(reason: string): void {
    this.#c.connected = false;
    if (this.#closed || this.#timer) return;
    this.#req?.destroy();
    this.#req = null;
    this.#c.last_error = reason;
    this.#timer = setTimeout(() => { this.#timer = null; this.start(); }, this.#delay);
    this.#delay = Math.min(this.#delay * 2, this.#o.retryMaxMs ?? 5_000);
  }

  #onLine(line: string): void {
    let parsed: unknown;
    try { parsed = JSON.parse(line); } catch (e) {
      this.#c.rejected++;
      this.#c.last_error = `config snapshot is not JSON: ${(e as Error).message}`;
      this.#o.log?.(this.#c.last_error);
      return; // no version to NACK
    }
    const version = typeof (parsed as { version?: unknown })?.version === 'number' ? (parsed as { version: number }).version : -1;
    const problem = snapshotProblem(parsed, this.#o.proxy);
    if (problem) {
      this.#c.rejected++;
      this.#c.last_error = `config version ${version} rejected: ${problem}`;
      this.#o.log?.(this.#c.last_error);
      this.#ack({ proxy: this.#o.proxy, version, ok: false, error: problem });
      return;
    }
    const snapshot = parsed as ConfigSnapshot;
    if (snapshot.version < this.#o.table.current.version) { this.#c.stale++; return; }
    this.#o.table.apply(snapshot);
    this.#c.applied++;
    this.#c.version = snapshot.version;
    this.#delay = this.#o.retryInitialMs ?? 100;
    const loading = this.#o.policy?.want(snapshot.policy_digest, snapshot.version);
    if (!loading) return this.#ack({ proxy: this.#o.proxy, version: snapshot.version, ok: true });
    void loading.then((o) => {
      if (this.#closed) return;
      if (o.kind === 'loaded') return this.confirm(snapshot.version);
      if (o.kind === 'superseded') { this.#c.stale++; return; }
      this.#c.rejected++;
      this.#c.last_error = `config version ${snapshot.version} rejected: ${o.error}`;
      this.#ack({ proxy: this.#o.proxy, version: snapshot.version, ok: false, error: o.error });
    });
  }

  /** ACKs a version whose policy bundle has loaded (after the snapshot itself was applied). */
  confirm(version: number): void {
    if (!this.#closed) this.#ack({ proxy: this.#o.proxy, version, ok: true });
  }

  #ack(ack: ConfigAck): void {
    const body = JSON.stringify(ack);
    const p = new Promise<void>((resolve) => {
      const url = new URL('/v1/config/ack', this.#o.controlUrl);
      const req = (url.protocol === 'https:' ? https : http).request(url, {
        ...this.#o.tls?.(), method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        res.resume();
        if (res.statusCode !== 204 && res.statusCode !== 200) this.#ackFailed(ack, `control plane answered ${res.statusCode}`);
        res.on('end', resolve);
        res.on('error', () => resolve());
      });
      req.on('error', (e) => { this.#ackFailed(ack, e.message); resolve(); });
      req.end(body);
    });
    this.#acks.add(p);
    void p.then(() => this.#acks.delete(p));
  }

  #ackFailed(ack: ConfigAck, why: string): void {
    this.#c.ack_failures++;
    this.#c.last_error = `${ack.ok ? 'ACK' : 'NACK'} of config version ${ack.version} failed: ${why}`;
    this.#o.log?.(this.#c.last_error);
  }
}
