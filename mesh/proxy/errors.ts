// The sidecar's error catalogue: every failure a request can meet, with the
// HTTP status the client sees and whether trying again may help. Stages throw
// MeshError; the rescue stage (stages/rescue.ts) is the one place that turns
// an error into a response, as linkerd's inbound ServerRescue does.

import type http from 'node:http';

export const MESH_ERRORS = {
  MESH_ERR_NO_ROUTE: { status: 404, retriable: false },
  MESH_ERR_NO_ENDPOINT: { status: 503, retriable: true },
  MESH_ERR_UPSTREAM_CONNECT: { status: 503, retriable: true },
  MESH_ERR_UPSTREAM_TIMEOUT: { status: 504, retriable: true },
  /** Upstream closed the connection before or while answering. */
  MESH_ERR_UPSTREAM_RESET: { status: 502, retriable: true },
  /** Downstream client went away before the exchange finished; nobody reads the status. */
  MESH_ERR_DOWNSTREAM_RESET: { status: 499, retriable: false },
  /** Conflicting Content-Length / Transfer-Encoding: a request-smuggling shape. */
  MESH_ERR_BAD_FRAMING: { status: 400, retriable: false },
  MESH_ERR_BAD_REQUEST: { status: 400, retriable: false },
  MESH_ERR_REQUEST_TIMEOUT: { status: 408, retriable: false },
  /** The inbound authorization policy denied the request (or none could be loaded: fail-closed). */
  MESH_ERR_POLICY_DENIED: { status: 403, retriable: false },
  MESH_ERR_INTERNAL: { status: 500, retriable: false },
} as const;

export type MeshErrorCode = keyof typeof MESH_ERRORS;

export class MeshError extends Error {
  readonly code: MeshErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  /** A reason code the client may see (policy denials); the response body is then JSON {error, reason}. */
  readonly reason?: string;

  constructor(code: MeshErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'MeshError';
    this.code = code;
    if (options?.reason !== undefined) this.reason = options.reason;
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

/** Header that names the sidecar's error code on every error response. */
export const ERROR_HEADER = 'x-meshlens-error';

function errorBody(err: MeshError): string {
  return `${err.code}: ${err.message}\n`;
}

/** Writes the error response; returns the body length written. */
export function writeErrorResponse(res: http.ServerResponse, err: MeshError): number {
  // A denial tells the client only the policy's reason, not the sidecar's internal message.
  const json = err.reason !== undefined;
  const body = json ? JSON.stringify({ error: err.code, reason: err.reason }) : errorBody(err);
  res.writeHead(err.status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [ERROR_HEADER]: err.code,
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
  const reason = err.status === 400 ? 'Bad Request' : err.status === 408 ? 'Request Timeout' : 'Error';
  return `HTTP/1.1 ${err.status} ${reason}\r\n` +
    'content-type: text/plain; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `${ERROR_HEADER}: ${err.code}\r\n` +
    'connection: close\r\n\r\n' + body;
}
