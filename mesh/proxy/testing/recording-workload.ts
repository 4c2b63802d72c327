// A workload for hostile-input tests: a real Node HTTP server that records
// every request its parser produced (method, target, headers, body), so a test
// can assert what a request turned into behind the sidecar: one request or
// two, which path, which framing. `hold` keeps chosen requests unanswered
// until the test releases them (overload tests).

import type http from 'node:http';
import { startHttpServer, type TestServer } from './servers.ts';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordingWorkload extends TestServer {
  readonly seen: SeenRequest[];
  /** Resolves once n requests have arrived (their bodies read). */
  arrived(n: number): Promise<void>;
  /** Answers every held request. */
  releaseAll(): void;
}

export async function startRecordingWorkload(hold: (r: SeenRequest) => boolean = () => false): Promise<RecordingWorkload> {
  const seen: SeenRequest[] = [];
  const held: (() => void)[] = [];
  let waiters: (() => void)[] = [];
  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') };
      seen.push(r);
      const w = waiters; waiters = []; for (const f of w) f();
      const answer = () => res.end(`ok ${r.method} ${r.url}`);
      if (hold(r)) held.push(answer); else answer();
    });
  });
  return {
    ...server,
    seen,
    async arrived(n) { while (seen.length < n) await new Promise<void>((r) => waiters.push(r)); },
    releaseAll() { for (const f of held.splice(0)) f(); },
  };
}
