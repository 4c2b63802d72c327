// How the CLI (and tests that run the control plane as a process) talk to
// its operator API: HTTPS checked against the mesh's trust bundle, with the
// operator token as a bearer credential. Both are read from the data dir
// unless given.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { readTokenFile } from '../access/index.ts';

export interface ControlClient {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export async function controlClient(o: { url: string; dataDir: string; token?: string; caFile?: string }): Promise<ControlClient> {
  const dir = resolve(o.dataDir);
  const token = o.token ?? await readTokenFile(join(dir, 'operator-token'));
  const ca = readFileSync(o.caFile ?? join(dir, 'ca', 'bundle.pem'), 'utf8');
  return {
    request: (method, path, body) => new Promise((ok, fail) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(new URL(path, o.url), {
        method, ca, agent: false, timeout: 10_000,
        headers: { authorization: `Bearer ${token}`, ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try { parsed = JSON.parse(raw); } catch { /* not JSON: returned as text */ }
          ok({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', fail);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', fail);
      req.end(text);
    }),
  };
}
