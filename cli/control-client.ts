// How the CLI (and tests that run the control plane as a process) talk to
// its operator API: HTTPS checked against the mesh's trust bundle, with the
// operator token as a bearer credential. Both are read from the data dir
// unless given.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { readTokenFile } from '../access/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export interface ControlClient {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** The same, with a raw body out (a file) and the answer's bytes back (a PDF is not text). */
  requestBytes(method: string, path: string, body?: Buffer, contentType?: string): Promise<{ status: number; bytes: Buffer }>;
}

export async function controlClient(o: { url: string; dataDir: string; token?: string; caFile?: string; timeoutMs?: number }): Promise<ControlClient> {
  const dir = resolve(o.dataDir);
  const token = o.token ?? await readTokenFile(join(dir, 'operator-token'));
  const ca = readFileSync(o.caFile ?? join(dir, 'ca', 'bundle.pem'), 'utf8');
  const timeoutMs = o.timeoutMs ?? 10_000;
  const send = (method: string, path: string, body: Buffer | undefined, contentType: string) => new Promise<{ status: number; bytes: Buffer }>((ok, fail) => {
    const req = https.request(new URL(path, o.url), {
      method, ca, agent: false, timeout: timeoutMs,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': contentType, 'content-length': body.length } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', fail);
    req.end(body);
  });
  return {
    async request(method, path, body) {
      const r = await send(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)), 'application/json');
      const raw = r.bytes.toString('utf8');
      let parsed: unknown = raw;
      try { parsed = JSON.parse(raw); } catch { /* not JSON: returned as text */ }
      return { status: r.status, body: parsed };
    },
    requestBytes: (method, path, body, contentType = 'application/octet-stream') => send(method, path, body, contentType),
  };
}

/** The flags of every operator command that reaches the control plane: where it is, and the data dir with its token and bundle. */
export const OPERATOR_CLIENT_FLAGS: FlagSpec[] = [
  { name: 'control', type: 'string', env: 'MESHLENS_CONTROL_URL', default: 'https://127.0.0.1:7071', help: 'control plane URL' },
  { name: 'data-dir', type: 'string', env: 'MESHLENS_DATA_DIR', default: './.meshlens/data', help: 'where the operator token and the CA bundle are' },
];

/** A client from OPERATOR_CLIENT_FLAGS' values. */
export function controlClientOf(f: FlagValues): Promise<ControlClient> {
  return controlClient({ url: String(f.control), dataDir: String(f['data-dir']) });
}

/** The answer's JSON body when its status is one of `ok`; otherwise an error naming the status and the problems the API listed. */
export async function operatorCall(c: ControlClient, method: string, path: string, body?: unknown, ok = [200]): Promise<Record<string, unknown>> {
  const r = await c.request(method, path, body);
  if (!ok.includes(r.status)) {
    const b = r.body as { message?: string; problems?: string[] } | string;
    const why = typeof b === 'string' ? b.slice(0, 300) : b.problems?.length ? b.problems.join('; ') : b.message ?? JSON.stringify(b);
    throw new Error(`control plane answered ${r.status}: ${why}`);
  }
  return r.body as Record<string, unknown>;
}
