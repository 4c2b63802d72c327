// The `scale` action on Kubernetes: reads and sets a Deployment's replica
// count through its scale subresource, over HTTPS with node:https (no client
// library), as a pod's service account or with explicit credentials.
//
// Written against the documented API (no cluster here), as checked with the search tool:
// - kubernetes.io/docs/reference/kubernetes-api/definitions/scale-v1-autoscaling/
//   and docs.okd.io .../scale-autoscaling-v1: GET and PATCH on
//   /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale answer an
//   autoscaling/v1 `Scale` {kind, apiVersion, metadata, spec.replicas (desired),
//   status.replicas (observed, required), status.selector (string)}.
//   k8s.io/api autoscaling/v1 types.go: ScaleSpec.Replicas is `omitempty`, so a
//   scale at 0 answers `"spec": {}`; absent means 0.
// - PATCH content types (Kubernetes API conventions, kubectl patch --type):
//   application/json-patch+json (RFC 6902), application/merge-patch+json
//   (RFC 7386), application/strategic-merge-patch+json, application/apply-patch+yaml.
//   We send a merge patch: `{"spec":{"replicas":N}}` touches nothing else.
// - kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/:
//   a failure answers a `Status` {status: "Failure", reason, message, details, code}.
// - kubernetes.io/docs/tasks/run-application/access-api-from-pod/: in a pod,
//   KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT_HTTPS (or _PORT), and
//   /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
//   Projected service account tokens rotate (kubelet refreshes the file), so the
//   token is read again on every call; the CA and namespace are read once.

import https from 'node:https';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Sets a service's replica count: on Kubernetes here, over the demo supervisor locally. */
export interface ScaleActuator {
  /** The desired replica count now. */
  replicas(service: string): Promise<number>;
  /** Sets the desired count; `before` as read just before, `after` as the platform now holds it. */
  scale(service: string, replicas: number): Promise<{ before: number; after: number }>;
  /** Where it acts, for logs and the action's row. */
  describe(): string;
}

export interface KubernetesAccess {
  /** https://host:port of the API server. */
  readonly server: string;
  /** The bearer token, or a reader called before every request (rotating tokens). */
  readonly token: string | (() => Promise<string>);
  /** The CA the API server's certificate must chain to; the only one trusted. */
  readonly caPem: string;
  readonly namespace: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const MERGE_PATCH = 'application/merge-patch+json';
/** ScaleSpec.replicas is an int32. */
export const MAX_REPLICAS = 2_147_483_647;

/** Access as this pod's service account; throws naming every missing piece at once. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubernetesAccess {
  const problems: string[] = [];
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT_HTTPS ?? env.KUBERNETES_SERVICE_PORT;
  if (!host) problems.push('KUBERNETES_SERVICE_HOST is not set');
  if (!port) problems.push('KUBERNETES_SERVICE_PORT_HTTPS / KUBERNETES_SERVICE_PORT is not set');
  const read = (file: string): string => {
    try { return readFileSync(join(dir, file), 'utf8'); }
    catch (e) { problems.push(`cannot read ${join(dir, file)}: ${(e as Error).message}`); return ''; }
  };
  const caPem = read('ca.crt');
  const namespace = read('namespace').trim();
  read('token');
  if (problems.length > 0) throw new Error(`kubernetes in-cluster access: ${problems.join('; ')}`);
  const tokenFile = join(dir, 'token');
  const server = `https://${host!.includes(':') ? `[${host}]` : host}:${port}`;
  return { server, caPem, namespace, token: async () => (await readFile(tokenFile, 'utf8')).trim() };
}

export interface KubernetesScaleOptions {
  readonly access: KubernetesAccess;
  /** Overrides the access's namespace. */
  readonly namespace?: string;
  /** Deployment per service; a service not listed scales the Deployment of its own name. */
  readonly deployments?: Readonly<Record<string, string>>;
  /** Deadline for a whole call, connect to last byte (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest answer read (default 256 KiB; a Scale is well under 1 KiB). */
  readonly maxBodyBytes?: number;
}

/** `reason` is the Status object's (NotFound, Forbidden, Conflict, …) or ours: Timeout, Transport, BadAnswer, TooLarge, Refused. */
export class KubernetesScaleError extends Error {
  readonly deployment: string;
  /** HTTP status; 0 when nothing was answered. */
  readonly status: number;
  readonly reason: string;
  /** Trying again later may help (conflict, throttling, server trouble, no answer). */
  readonly retriable: boolean;
  constructor(deployment: string, status: number, reason: string, message: string, cause?: unknown) {
    super(`kubernetes scale of deployment ${deployment}: ${message}`, { cause });
    this.name = 'KubernetesScaleError';
    this.deployment = deployment;
    this.status = status;
    this.reason = reason;
    this.retriable = status === 0 ? reason !== 'Refused' : [409, 429, 500, 502, 503, 504].includes(status);
  }
}

export interface KubernetesScaleCounters { reads: number; patches: number; failed: number; refused: number; last_error: string }

// RFC 1123 label (namespaces) and subdomain (Deployment names), as the API server checks them.
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface Target { host: string; port: number }

export class KubernetesScaleActuator implements ScaleActuator {
  readonly counters: KubernetesScaleCounters = { reads: 0, patches: 0, failed: 0, refused: 0, last_error: '' };
  readonly #access: KubernetesAccess;
  readonly #target: Target;
  readonly #namespace: string;
  readonly #deployments: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;

  constructor(options: KubernetesScaleOptions) {
    const problems: string[] = [];
    const { access } = options;
    let target: Target = { host: '', port: 0 };
    try {
      const url = new URL(access.server);
      if (url.protocol !== 'https:') problems.push(`server ${access.server} is not https://`);
      target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
    } catch { problems.push(`server "${access.server}" is not a URL`); }
    if (!access.caPem.includes('-----BEGIN CERTIFICATE-----')) problems.push('caPem holds no PEM certificate');
    if (typeof access.token === 'string' && access.token === '') problems.push('token is empty');
    const namespace = options.namespace ?? access.namespace;
    if (!LABEL.test(namespace)) problems.push(`namespace "${namespace}" is not a DNS-1123 label`);
    for (const [service, deployment] of Object.entries(options.deployments ?? {})) {
      if (!SUBDOMAIN.test(deployment)) problems.push(`deployment "${deployment}" for service ${service} is not a DNS-1123 subdomain`);
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
    if (!(timeoutMs > 0)) problems.push(`timeoutMs ${timeoutMs} is not > 0`);
    if (!(maxBodyBytes > 0)) problems.push(`maxBodyBytes ${maxBodyBytes} is not > 0`);
    if (problems.length > 0) throw new Error(`kubernetes scale actuator: ${problems.join('; ')}`);
    this.#access = access;
    this.#target = target;
    this.#namespace = namespace;
    this.#deployments = { ...options.deployments };
    this.#timeoutMs = timeoutMs;
    this.#maxBodyBytes = maxBodyBytes;
  }

  describe(): string {
    return `kubernetes deployments/scale in namespace ${this.#namespace} at ${this.#access.server}`;
  }

  async replicas(service: string): Promise<number> {
    return (await this.#call('GET', this.#deployment(service))).desired;
  }

  /** Reads, then patches only if the count differs (no write, and no `patch` right needed, for a no-op). */
  async scale(service: string, replicas: number): Promise<{ before: number; after: number }> {
    const deployment = this.#deployment(service);
    if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
      throw this.#refuse(deployment, `replicas ${String(replicas)} is not an integer in 0..${MAX_REPLICAS}`);
    }
    const before = (await this.#call('GET', deployment)).desired;
    if (before === replicas) return { before, after: before };
    const after = (await this.#call('PATCH', deployment, JSON.stringify({ spec: { replicas } }))).desired;
    return { before, after };
  }

  #deployment(service: string): string {
    const name = this.#deployments[service] ?? service;
    if (typeof name !== 'string' || !SUBDOMAIN.test(name)) {
      throw this.#refuse(String(name).slice(0, 64), `service "${String(service).slice(0, 64)}" names no valid deployment`);
    }
    return name;
  }

  #refuse(deployment: string, message: string): KubernetesScaleError {
    const e = new KubernetesScaleError(`${this.#namespace}/${deployment}`, 0, 'Refused', message);
    this.counters.refused++;
    this.counters.last_error = e.message;
    return e;
  }

  async #call(method: 'GET' | 'PATCH', deployment: string, body?: string): Promise<{ desired: number; observed: number }> {
    if (method === 'GET') this.counters.reads++; else this.counters.patches++;
    const where = `${this.#namespace}/${deployment}`;
    try {
      const token = typeof this.#access.token === 'string' ? this.#access.token : await this.#access.token();
      const path = `/apis/apps/v1/namespaces/${this.#namespace}/deployments/${deployment}/scale`;
      const { status, text } = await this.#exchange(where, method, path, token, body);
      return readAnswer(where, method, status, text);
    } catch (e) {
      const err = e instanceof KubernetesScaleError ? e
        : new KubernetesScaleError(where, 0, 'Transport', `${method}: ${(e as Error).message}`, e);
      this.counters.failed++;
      this.counters.last_error = err.message;
      throw err;
    }
  }

  #exchange(where: string, method: string, path: string, token: string, body?: string): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'meshlens-tuning' };
    if (body !== undefined) {
      headers['content-type'] = MERGE_PATCH;
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, answer?: { status: number; text: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) { req.destroy(); reject(err); } else resolve(answer!);
      };
      // Verification stays on: `ca` replaces the default roots, `rejectUnauthorized` is explicit.
      const req = https.request({
        host: this.#target.host, port: this.#target.port, method, path, headers,
        ca: this.#access.caPem, rejectUnauthorized: true, agent: false,
      });
      const timer = setTimeout(() => finish(new KubernetesScaleError(where, 0, 'Timeout', `${method} had no full answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      req.on('error', (e) => finish(e));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.#maxBodyBytes) {
            finish(new KubernetesScaleError(where, res.statusCode ?? 0, 'TooLarge', `${method} answer is larger than ${this.#maxBodyBytes} bytes`));
            res.destroy();
          } else chunks.push(c);
        });
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish(e));
      });
      req.end(body);
    });
  }
}

/** A 2xx Scale as its desired and observed counts; anything else as the error it says. */
function readAnswer(where: string, method: string, status: number, text: string): { desired: number; observed: number } {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { doc = undefined; }
  const obj = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (status < 200 || status > 299) {
    const reason = typeof obj.reason === 'string' && obj.reason !== '' ? obj.reason : 'Unknown';
    const message = typeof obj.message === 'string' ? obj.message : text.slice(0, 200).replace(/\s+/g, ' ');
    throw new KubernetesScaleError(where, status, reason, `${method} answered ${status} ${reason}: ${message}`);
  }
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const st = (obj.status ?? {}) as Record<string, unknown>;
  const desired = spec.replicas ?? 0; // omitempty: absent is 0
  const observed = st.replicas ?? 0;
  if (obj.kind !== 'Scale' || !isCount(desired) || !isCount(observed)) {
    throw new KubernetesScaleError(where, status, 'BadAnswer', `${method} answered ${status} but not an autoscaling/v1 Scale: ${text.slice(0, 200)}`);
  }
  return { desired, observed };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
