// The config stream: one long-lived NDJSON response per sidecar carrying its
// ConfigSnapshot whenever the mesh changes, and the ACK/NACK endpoint.
// Protocol in ./snapshot.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceRegistry } from './registry.ts';
import { parseLabels, type Labels } from './labels.ts';
import { buildSnapshot, type MeshSettings, type RouteBackends, type SnapshotExtras } from './snapshot-builder.ts';
import type { ConfigAck } from './snapshot.ts';

export interface ProxyState {
  proxy: string;
  service: string;
  instance: string;
  inbound: string;
  /** The labels the sidecar sent (`--label`): its own metadata, not identity. */
  labels: Labels;
  connected: boolean;
  connected_since: number;
  sent_version: number;
  acked_version: number;
  nack?: { version: number; error: string };
}

/** Pushes of a registry change are coalesced over this delay (sidecars start in bursts). */
const COALESCE_MS = 20;

export class ConfigStreams {
  readonly #streams = new Map<string, { res: ServerResponse; service: string }>();
  readonly #state = new Map<string, ProxyState>();
  // Versions start at the clock so a restarted control plane never goes
  // backwards (sidecars ignore versions lower than the one they run).
  #version: number;
  #pending: NodeJS.Timeout | null = null;
  readonly #pushListeners = new Set<(version: number) => void>();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly settings: MeshSettings,
    private readonly now: () => number = Date.now,
    /** Digest of the current inbound authorization bundle ("" for none). */
    private readonly policyDigest: () => string = () => '',
    /** Weighted backends per service (route-weights.ts); undefined: the default route. */
    private readonly routeBackends: RouteBackends = () => undefined,
    /** Ejections and rate limits in force now (snapshot-builder.ts). */
    private readonly extras: () => SnapshotExtras = () => ({}),
  ) {
    this.#version = now();
    registry.onChange(() => this.#schedulePush());
  }

  get version(): number { return this.#version; }

  proxies(): ProxyState[] {
    return [...this.#state.values()].sort((a, b) => a.proxy.localeCompare(b.proxy));
  }

  /**
   * GET /v1/config/stream?inbound=addr:port[&labels=k=v,k=v][&proxy=&service=&instance=]
   * `who` is what the client certificate proves: the proxy and service come
   * from it (query values, if given, must agree), and the endpoint is
   * registered at the address the sidecar connects from, never one it names.
   * Labels are the sidecar's to say (a version, a zone): they choose which
   * subset's traffic it gets, never whose.
   */
  open(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, who: { proxy: string; service: string; addr: string }): void {
    const problems: string[] = [];
    const { proxy, service } = who;
    const instance = proxy;
    const inbound = query.get('inbound') ?? '';
    for (const [k, v] of [['proxy', proxy], ['service', service]] as const) {
      const asked = query.get(k);
      if (asked !== null && asked !== v) problems.push(`${k}: "${asked.slice(0, 128)}" is not the certificate's ${k} "${v}"`);
    }
    const m = /^(.+):(\d{1,5})$/.exec(inbound);
    if (inbound !== '' && (!m || Number(m[2]) > 65535 || Number(m[2]) === 0)) problems.push(`inbound: "${inbound.slice(0, 128)}" is not addr:port`);
    else if (m && m[1].replace(/^\[|\]$/g, '') !== who.addr) problems.push(`inbound: ${m[1].slice(0, 64)} is not the address this sidecar connects from (${who.addr}); an endpoint registers only where it is`);
    const { labels, problems: labelProblems } = parseLabels(query.get('labels') ?? '');
    problems.push(...labelProblems.slice(0, 8).map((p) => `labels: ${p}`));
    if (problems.length > 0) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'MESH_ERR_BAD_STREAM_REQUEST', message: problems.join('; ') }));
      return;
    }
    // A reconnecting sidecar replaces its old stream.
    this.#streams.get(proxy)?.res.end();
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    req.socket.setKeepAlive(true, 10_000);
    this.#streams.set(proxy, { res, service });
    const prior = this.#state.get(proxy);
    this.#state.set(proxy, {
      proxy, service, instance, inbound, labels, connected: true, connected_since: this.now(),
      sent_version: 0, acked_version: prior?.acked_version ?? 0,
    });
    res.on('close', () => {
      if (this.#streams.get(proxy)?.res !== res) return; // replaced by a newer stream
      this.#streams.delete(proxy);
      const st = this.#state.get(proxy);
      if (st) st.connected = false;
      this.registry.deregister(proxy);
    });
    this.#version += 1;
    // Registering triggers a coalesced push to everyone; this sidecar gets its first snapshot now.
    this.registry.register({
      proxy, service, instance, since: this.now(),
      addr: m ? m[1] : '', port: m ? Number(m[2]) : 0, labels,
    });
    this.#send(proxy);
  }

  /** POST /v1/config/ack with a ConfigAck body, from `sender` (the client certificate's proxy). Returns an error message or null. */
  ack(body: unknown, sender: string): string | null {
    const a = body as Partial<ConfigAck>;
    if (!a || typeof a.proxy !== 'string' || typeof a.version !== 'number' || typeof a.ok !== 'boolean') {
      return 'ack must be {proxy: string, version: number, ok: boolean, error?: string}';
    }
    if (a.proxy !== sender) return `ack for proxy "${a.proxy.slice(0, 128)}" from the certificate of "${sender}": a sidecar ACKs only its own config`;
    const st = this.#state.get(a.proxy);
    if (!st) return `ack from unknown proxy "${a.proxy}"`;
    if (a.ok) {
      st.acked_version = Math.max(st.acked_version, a.version);
      if (st.nack && st.nack.version <= a.version) delete st.nack;
    } else {
      st.nack = { version: a.version, error: String(a.error ?? 'no reason given') };
    }
    return null;
  }

  /** A new version for every sidecar now (e.g. a new policy bundle); returns it. */
  pushAll(): number {
    if (this.#pending) { clearTimeout(this.#pending); this.#pending = null; }
    this.#version += 1;
    for (const proxy of this.#streams.keys()) this.#send(proxy);
    for (const fn of this.#pushListeners) fn(this.#version);
    return this.#version;
  }

  /** Hears every version pushed to every sidecar, once sent (the change log records what it carries: ./config-watch.ts). */
  onPush(fn: (version: number) => void): void { this.#pushListeners.add(fn); }

  close(): void {
    if (this.#pending) clearTimeout(this.#pending);
    for (const { res } of this.#streams.values()) res.end();
    this.#streams.clear();
  }

  #schedulePush(): void {
    if (this.#pending) return;
    this.#pending = setTimeout(() => this.pushAll(), COALESCE_MS);
  }

  #send(proxy: string): void {
    const s = this.#streams.get(proxy);
    const st = this.#state.get(proxy);
    if (!s || !st) return;
    const snap = buildSnapshot(this.registry, proxy, s.service, this.#version, this.settings, this.policyDigest(), this.routeBackends, this.extras());
    st.sent_version = snap.version;
    s.res.write(JSON.stringify(snap) + '\n');
  }
}
