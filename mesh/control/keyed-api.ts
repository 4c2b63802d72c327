// The operator API shape three control-plane settings share (route weights,
// ejections, rate limits): GET <path> lists what is set; PUT <path>/<key>
// sets one key from a JSON object body; DELETE <path>/<key> clears it. The
// server has authenticated the operator (Host, Origin, token) before any of
// this runs. Each setting says what its body holds and how a bad one is named.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, reply } from './http-json.ts';

export interface KeyedSetting {
  path: string;
  /** What the key names, in messages and in the DELETE answer. */
  key: 'service' | 'instance';
  maxBodyBytes: number;
  /** The body's fields; any other is a problem. */
  fields: string[];
  /** The problem when the body is not a JSON object. */
  bodyShape: string;
  list(): Record<string, unknown>;
  /** Clears the key's setting; false when it had none (404 with notFound's message). */
  clear(key: string): boolean;
  notFound(key: string): string;
  /**
   * Sets the key from the body (undefined when it is not an object), given
   * the problems found so far with its shape; throws to refuse (nothing changes).
   */
  set(key: string, body: Record<string, unknown> | undefined, problems: string[]): object;
  /** The 400 code of a refusal set() threw (an error with `problems`); null: not a refusal, a 500. */
  refusalCode(e: unknown): string | null;
}

/** Answers any method on `s.path` or `s.path`/<key>; `version` is the snapshot version in force after a change. */
export function serveKeyed(req: IncomingMessage, res: ServerResponse, pathname: string, s: KeyedSetting, version: () => number): void {
  const method = req.method ?? '';
  if (pathname === s.path) {
    req.resume();
    if (method !== 'GET') return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${s.path}: only GET` });
    return reply(res, 200, { ...s.list(), version: version() });
  }
  const key = pathname.slice(s.path.length + 1);
  if (method === 'DELETE') {
    req.resume();
    if (!s.clear(key)) return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: s.notFound(key) });
    return reply(res, 200, { [s.key]: key, version: version() });
  }
  if (method !== 'PUT') {
    req.resume();
    return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${s.path}/<${s.key}>: only PUT or DELETE` });
  }
  readJson(req, s.maxBodyBytes, (err, body) => {
    const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : undefined;
    const only = s.fields.map((f) => `"${f}"`).join(', ');
    const shape = err ? [err]
      : !b ? [s.bodyShape]
        : Object.keys(b).filter((k) => !s.fields.includes(k)).map((k) => `body: unknown field "${k.slice(0, 64)}" (only ${only})`);
    try {
      reply(res, 200, { ...s.set(key, b, shape), version: version() });
    } catch (e) {
      const code = s.refusalCode(e);
      if (code) reply(res, 400, { code, message: (e as Error).message, problems: (e as { problems: string[] }).problems });
      else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
    }
  });
}
