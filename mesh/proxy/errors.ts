// The sidecar's error catalogue: every failure a request can meet, with the
// HTTP status the client sees and whether trying again may help. Stages throw
// MeshError; the rescue stage (stages/rescue.ts) is the one place that turns
// an error into a response, as linkerd's inbound ServerRescue does.

import http from 'node:http';

interface ErrorSpec {
  readonly status: number;
  readonly retriable: boolean;
  /** The connection cannot be trusted to carry another request: answer with `connection: close`. */
  readonly close?: boolean;
  /** Seconds the client should wait before trying again (`retry-after`); a MeshError may say its own. */
  readonly retryAfterS?: number;
  /** The body is JSON {code, message}, for callers that act on the refusal (a service, not a person). */
  readonly json?: boolean;
}

export const MESH_ERRORS = {
  MESH_ERR_NO_ROUTE: { status: 404, retriable: false },
  MESH_ERR_NO_ENDPOINT: { status: 503, retriable: true },
  MESH_ERR_UPSTREAM_CONNECT: { status: 503, retriable: true },
  MESH_ERR_UPSTREAM_TIMEOUT: { status: 504, retriable: true },
  /** Upstream closed the connection before or while answering. */
  MESH_ERR_UPSTREAM_RESET: { status: 502, retriable: true },
  /**
   * A try's answer matched the retry policy (e.g. 503) and was dropped to
   * try again (stages/retry.ts); a client never sees it: the next try, or
   * the timeout, answers instead.
   */
  MESH_ERR_UPSTREAM_STATUS: { status: 502, retriable: true },
  /** The upstream's certificate did not prove the service the route chose (mTLS). Not retried: it is not who we meant to call. */
  MESH_ERR_UPSTREAM_IDENTITY: { status: 502, retriable: false },
  /** Downstream client went away before the exchange finished; nobody reads the status. */
  MESH_ERR_DOWNSTREAM_RESET: { status: 499, retriable: false },
  /**
   * Conflicting Content-Length / Transfer-Encoding, or Transfer-Encoding on
   * HTTP/1.0 (RFC 9112 §6.1): a request-smuggling shape; where the body ends is unknown.
   */
  MESH_ERR_BAD_FRAMING: { status: 400, retriable: false, close: true },
  /** A transfer coding other than exactly `chunked` (e.g. `gzip, chunked`): not implemented (RFC 9112 §6.1). */
  MESH_ERR_UNSUPPORTED_TRANSFER_CODING: { status: 501, retriable: false, close: true },
  /** Not HTTP/1.0 or 1.1 (HTTP/0.9 request lines, HTTP/2.0 over HTTP/1 syntax). */
  MESH_ERR_BAD_VERSION: { status: 400, retriable: false, close: true },
  /** Two Host headers, none on HTTP/1.1, or one that is not host[:port]. */
  MESH_ERR_BAD_HOST: { status: 400, retriable: false },
  /** Outbound request with no authority to route by (HTTP/1.0 without Host, origin-form target). */
  MESH_ERR_NO_AUTHORITY: { status: 400, retriable: false },
  /** A request target that cannot be normalised safely (stages/normalize-path.ts). */
  MESH_ERR_BAD_PATH: { status: 400, retriable: false },
  MESH_ERR_BAD_REQUEST: { status: 400, retriable: false },
  MESH_ERR_REQUEST_TIMEOUT: { status: 408, retriable: false },
  /** The inbound authorization policy denied the request (or none could be loaded: fail-closed). */
  MESH_ERR_POLICY_DENIED: { status: 403, retriable: false },
  /**
   * A concurrency bound (sidecar direction or cluster) is full: refused before any
   * work (stages/admission.ts). Not retriable here: an immediate retry meets the same bound.
   */
  MESH_ERR_OVERLOADED: { status: 503, retriable: false, retryAfterS: 1 },
  /**
   * The caller is past a rate limit of this service (the snapshot's rate_limits,
   * stages/rate-limit.ts); `retry-after` says when its bucket has a token again.
   */
  MESH_ERR_RATE_LIMITED: { status: 429, retriable: false, retryAfterS: 1, json: true },
  /**
   * CONNECT (a tunnel to host:port, HTTP/1.1 or HTTP/2): the sidecar does not
   * implement tunnelling, for any route, so 501 rather than 405 (which would
   * say the method exists but not for this target, and must list others).
   */
  MESH_ERR_CONNECT_UNSUPPORTED: { status: 501, retriable: false, close: true },
  MESH_ERR_INTERNAL: { status: 500, retriable: false },
} as const satisfies Record<string, ErrorSpec>;

export type MeshErrorCode = keyof typeof MESH_ERRORS;

export class MeshError extends Error {
  readonly code: MeshErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** A reason code the client may see (policy denials); the response body is then JSON {error, reason}. */
  readonly reason?: string;
  /** Seconds for `retry-after` when this error knows better than the catalogue (a rate limit's refill). */
  readonly retryAfterS?: number;

  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown; reason?: string; retryAfterS?: number }) {
    super(message, options);
    this.name = 'MeshError';
    this.code = code;
    if (options?.reason !== undefined) this.reason = options.reason;
    if (options?.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
    this.status = MESH_ERRORS[code].status;
    this.retriable = MESH_ERRORS[code].retriable;
  }
}

/** Any thrown value as a MeshError; unknown errors become MESH_ERR_INTERNAL and keep their cause. */
export function toMeshError(e: unknown): MeshError {
  if (e instanceof MeshError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new MeshError('MESH_ERR_INTERNAL', `sidecar bug: ${message}`, { cause: e });
}

/** `connection: close` and `retry-after` as the catalogue says for this code; HTTP/2 has no Connection header (RFC 9113 §8.2.2). */
function connectionHeaders(err: MeshError, h2: boolean): Record<string, string> {
  const spec: ErrorSpec = MESH_ERRORS[err.code];
  const out: Record<string, string> = {};
  if (spec.close && !h2) out.connection = 'close';
  const retryAfter = err.retryAfterS ?? spec.retryAfterS;
  if (retryAfter !== undefined) out['retry-after'] = String(retryAfter);
  return out;
}

/** Header that names the sidecar's error code on every error response. */
export const ERROR_HEADER = 'x-meshlens-error';

function errorBody(err: MeshError): string {
  return `${err.code}: ${err.message}\n`;
}

/** Writes the error response; returns the body length written. */
export function writeErrorResponse(res: http.ServerResponse, err: MeshError): number {
  // A denial tells the client only the policy's reason, not the sidecar's internal message.
  const denial = err.reason !== undefined;
  const json = denial || (MESH_ERRORS[err.code] as ErrorSpec).json === true;
  const body = denial ? JSON.stringify({ error: err.code, reason: err.reason })
    : json ? JSON.stringify({ code: err.code, message: err.message }) : errorBody(err);
  res.writeHead(err.status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [ERROR_HEADER]: err.code,
    ...connectionHeaders(err, 'stream' in res),
  });
  res.end(body);
  return Buffer.byteLength(body);
}

/**
 * The same response as raw bytes, for errors met before Node's parser produced
 * a request (clientError): the connection is closed after it.
 */
export function rawErrorResponse(err: MeshError): string {
  const body = errorBody(err);
  const reason = http.STATUS_CODES[err.status] ?? 'Error';
  return `HTTP/1.1 ${err.status} ${reason}\r\n` +
    'content-type: text/plain; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `${ERROR_HEADER}: ${err.code}\r\n` +
    'connection: close\r\n\r\n' + body;
}
