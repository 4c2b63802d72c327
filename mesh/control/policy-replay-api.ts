// POST /v1/policy/replay: a draft authorization policy replayed over the
// recorded inbound requests of a period (policy/replay.ts). The server has
// authenticated the operator (Host, Origin, token) before any of this.
//
//   body {from, until,                         epoch ms, from < until, at most MAX_PERIOD_MS apart
//         draft: {files: {"name.rego": source, …}} | {bundle: "<base64 OPA bundle>"},
//         against?: "current" (default: the bundle enforced now, or the recorded
//                   decisions when none is) | "recorded" | {files} | {bundle},
//         header_allow?: ["user-agent", …]}   the sidecars' --policy-header-allow, if not the default
//   -> 200 the replay result; with `accept: application/x-ndjson`, one line
//      {"progress": {done, total}} per page, then {"result": …} (or {"error": …})
//   -> 400 MESH_ERR_BAD_REPLAY naming every problem; a draft that does not
//      compile: its file:line:col; 413 a body over MAX_BODY_BYTES;
//      409 MESH_ERR_REPLAY_BUSY while another replay runs (one at a time: it is
//      CPU-bound on the control plane's event loop, page by page).
//
// Bounds: the period (MAX_PERIOD_MS), the requests and the distinct inputs
// evaluated (maxRequests, maxEvaluations: the result says when it was cut
// short), the body and the sources in it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TapStore } from '../../ingest/index.ts';
import {
  AuthzBundleError, loadAuthzPolicySource, RegoCompileError, replayPolicy, type AuthzPolicy, type PolicySource, type ReplayResult,
} from '../../policy/index.ts';
import { readJson, reply } from './http-json.ts';
import { AUTHZ_ENTRYPOINT } from './snapshot.ts';

export const POLICY_REPLAY_PATH = '/v1/policy/replay';
/** Sources or a base64 bundle, with room for JSON escaping. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_FILES = 64;
export const MAX_PERIOD_MS = 7 * 86_400_000;
/** A week of the demo's traffic is ~300M requests; what costs is the distinct inputs, each decided once. */
const DEFAULT_MAX_REQUESTS = 1_000_000_000;
const DEFAULT_MAX_EVALUATIONS = 2_000_000;
/** Distinct inputs read at once: each read is decided without yielding (~2000 × 2 × 30 µs), and the control plane serves config streams meanwhile. */
const READ_INPUTS = 2000;

export interface PolicyReplayApi {
  store: Pick<TapStore, 'inboundRequestInputs' | 'countTaps'>;
  /** The bundle enforced now, if any. */
  current: () => Uint8Array | undefined;
  maxRequests?: number;
  maxEvaluations?: number;
}

export interface PolicyReplayCounters { replays: number; refused: number; busy: number; failed: number; abandoned: number }

export function policyReplay(api: PolicyReplayApi): { serve(req: IncomingMessage, res: ServerResponse): void; counters: PolicyReplayCounters } {
  const counters: PolicyReplayCounters = { replays: 0, refused: 0, busy: 0, failed: 0, abandoned: 0 };
  let running = false;
  const bad = (res: ServerResponse, status: number, code: string, problems: string[], extra: object = {}) => {
    counters.refused++;
    reply(res, status, { code, message: problems.join('; '), problems, ...extra });
  };
  function serve(req: IncomingMessage, res: ServerResponse): void {
    if (running) {
      counters.busy++;
      req.resume();
      return reply(res, 409, { code: 'MESH_ERR_REPLAY_BUSY', message: 'a policy replay is running; one runs at a time' });
    }
    const stream = /application\/x-ndjson/.test(req.headers.accept ?? '');
    readJson(req, MAX_BODY_BYTES, (err, body) => {
      if (err) return bad(res, err.startsWith('body larger') ? 413 : 400, err.startsWith('body larger') ? 'MESH_ERR_TOO_LARGE' : 'MESH_ERR_BAD_REPLAY', [err]);
      const b = (body ?? {}) as Record<string, unknown>;
      const problems = periodProblems(b);
      const draft = sourceOf(b.draft, 'draft', problems);
      const against: 'current' | 'recorded' | PolicySource | undefined = b.against === undefined || b.against === 'current' || b.against === 'recorded'
        ? b.against ?? 'current' : sourceOf(b.against, 'against', problems);
      const headerAllow = headerAllowOf(b.header_allow, problems);
      if (problems.length) return bad(res, 400, 'MESH_ERR_BAD_REPLAY', problems);
      if (running) { counters.busy++; return reply(res, 409, { code: 'MESH_ERR_REPLAY_BUSY', message: 'a policy replay is running; one runs at a time' }); }
      running = true;
      void run(res, b.from as number, b.until as number, draft!, against!, headerAllow, stream).finally(() => { running = false; });
    });
  }

  async function run(res: ServerResponse, from: number, until: number, draftSrc: PolicySource, against: 'current' | 'recorded' | PolicySource, headerAllow: string[] | undefined, stream: boolean): Promise<void> {
    let draft: AuthzPolicy, current: AuthzPolicy | null = null;
    try {
      draft = await loadAuthzPolicySource(draftSrc, AUTHZ_ENTRYPOINT);
      if (typeof against === 'object') current = await loadAuthzPolicySource(against, AUTHZ_ENTRYPOINT);
      else if (against === 'current') {
        const bytes = api.current();
        if (bytes) current = await loadAuthzPolicySource({ bundle: bytes }, AUTHZ_ENTRYPOINT);
      }
    } catch (e) {
      if (e instanceof RegoCompileError) return bad(res, 400, 'MESH_ERR_BAD_REPLAY', [e.message], { loc: e.loc });
      if (e instanceof AuthzBundleError) return bad(res, 400, 'MESH_ERR_BAD_REPLAY', [e.message]);
      counters.failed++;
      return reply(res, 500, { code: 'MESH_ERR_REPLAY_FAILED', message: (e as Error).message });
    }
    if (stream) res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    // An asker that hangs up stops the replay at its next read.
    const gone = new AbortController();
    res.on('close', () => { if (!res.writableFinished) gone.abort(new Error('the asker closed the connection')); });
    let result: ReplayResult;
    try {
      result = await replayPolicy({
        store: api.store, draft, current, from, until, headerAllow, maxInputs: READ_INPUTS, signal: gone.signal,
        maxRequests: api.maxRequests ?? DEFAULT_MAX_REQUESTS, maxEvaluations: api.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS,
        onProgress: stream ? (p) => res.write(JSON.stringify({ progress: p }) + '\n') : undefined,
      });
    } catch (e) {
      if (gone.signal.aborted) { counters.abandoned++; return; }
      counters.failed++;
      const error = { code: 'MESH_ERR_REPLAY_FAILED', message: (e as Error).message };
      return stream ? void res.end(JSON.stringify({ error }) + '\n') : reply(res, 500, error);
    }
    counters.replays++;
    if (stream) res.end(JSON.stringify({ result }) + '\n');
    else reply(res, 200, result);
  }
  return { serve, counters };
}

function periodProblems(b: Record<string, unknown>): string[] {
  const p: string[] = [];
  const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!ok(b.from)) p.push('from: epoch milliseconds (an integer >= 0)');
  if (!ok(b.until)) p.push('until: epoch milliseconds (an integer >= 0)');
  if (p.length === 0) {
    const [from, until] = [b.from as number, b.until as number];
    if (until <= from) p.push('until must be later than from');
    else if (until - from > MAX_PERIOD_MS) p.push(`the period is at most ${MAX_PERIOD_MS / 86_400_000} days, got ${((until - from) / 86_400_000).toFixed(1)}`);
  }
  return p;
}

function sourceOf(v: unknown, name: string, problems: string[]): PolicySource | undefined {
  const o = v as { files?: unknown; bundle?: unknown } | undefined;
  if (!o || typeof o !== 'object' || Array.isArray(o) || (o.files === undefined) === (o.bundle === undefined)) {
    problems.push(`${name}: {files: {"name.rego": source, …}} or {bundle: "<base64 OPA bundle>"}`);
    return undefined;
  }
  if (o.bundle !== undefined) {
    if (typeof o.bundle !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.bundle) || o.bundle.length === 0) {
      problems.push(`${name}.bundle: a base64 OPA bundle`);
      return undefined;
    }
    return { bundle: Buffer.from(o.bundle, 'base64') };
  }
  const files = o.files as Record<string, unknown>;
  const names = files && typeof files === 'object' && !Array.isArray(files) ? Object.keys(files) : [];
  if (names.length === 0 || names.length > MAX_FILES) { problems.push(`${name}.files: 1 to ${MAX_FILES} Rego sources by file name`); return undefined; }
  const out: Record<string, string> = {};
  for (const n of names) {
    // Names are labels in compile errors only: nothing is read from or written to them.
    if (!/^[A-Za-z0-9._/-]{1,200}\.rego$/.test(n)) problems.push(`${name}.files: "${n.slice(0, 80)}" is not a name.rego`);
    else if (typeof files[n] !== 'string') problems.push(`${name}.files["${n}"]: the Rego source, a string`);
    else out[n] = files[n] as string;
  }
  return Object.keys(out).length === names.length ? { files: out } : undefined;
}

function headerAllowOf(v: unknown, problems: string[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 64 || !v.every((h) => typeof h === 'string' && /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(h))) {
    problems.push('header_allow: at most 64 lower-case header names');
    return undefined;
  }
  return v as string[];
}
