// The head of a client's HTTP/1.x request (RFC 9112 §2-3, §5-6), parsed
// strictly: a request is hostile until proven otherwise, and anything a
// second reader (the workload, another proxy) could frame or route
// differently is refused here with the MeshError the client is answered
// with. What is well-formed but not allowed (a coding before `chunked`,
// two Host headers, HTTP/1.0 with Transfer-Encoding) is left to
// stages/message-checks.ts, which sees every request however it arrived.

import { MeshError } from '../errors.ts';

/** Largest request head accepted, as Node's own default (--max-http-header-size). */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 200;

export interface RequestHead {
  method: string;
  /** The request-target as sent (origin-form, absolute-form, authority-form or `*`). */
  target: string;
  /** As sent: stages/message-checks.ts refuses all but 1.0 and 1.1, tapped (0.9 is a line with no version). */
  major: number;
  minor: number;
  /** Name, value, … as received (names keep their case). */
  raw: string[];
  /** Lower-case names; repeated fields combined as Node combines them (see addHeader). */
  headers: Record<string, string | string[]>;
  /** Offset in the parsed buffer just past the head's blank line: where its body (or the next request) starts. */
  next: number;
  /** How the body is delimited; `unframed`: a Transfer-Encoding other than exactly `chunked`, which message-checks refuses. */
  framing: 'none' | 'length' | 'chunked' | 'unframed';
  contentLength: number;
  /** The client asked for the connection to end after this exchange (or HTTP/1.0 without keep-alive). */
  close: boolean;
  expectContinue: boolean;
}

// method = token; a request-target has no whitespace or control characters; version is HTTP/1.0 or 1.1.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP\/(\d)\.(\d)$/;
const HTTP09_LINE = /^[A-Za-z]+ [^ ]+$/;
// Field values: visible characters, space and tab, obs-text; no other control character (RFC 9110 §5.5).
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
// Fields Node keeps one of (the first) when repeated; others are joined.
const SINGLE = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization',
  'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

const bad = (message: string) => new MeshError('MESH_ERR_BAD_REQUEST', message);
const badFraming = (detail: string) => new MeshError('MESH_ERR_BAD_FRAMING', `conflicting or duplicate Content-Length/Transfer-Encoding headers (${detail}); request refused`);

/**
 * Parses the head at `buf[at…]`: null while it is incomplete (and under the
 * size bound); throws the MeshError to answer when it is not a request the
 * sidecar will read.
 */
export function parseRequestHead(buf: Buffer, at: number): RequestHead | null {
  // Empty lines before a request line are ignored (RFC 9112 §2.2).
  while (at < buf.length && (buf[at] === 13 || buf[at] === 10)) at++;
  const end = buf.indexOf('\r\n\r\n', at);
  if (end < 0) {
    if (buf.length - at > MAX_REQUEST_HEAD_BYTES) throw bad(`request head larger than ${MAX_REQUEST_HEAD_BYTES} bytes`);
    const eol = buf.indexOf(10, at);
    if (eol >= 0) {
      // A first line with no version is HTTP/0.9: refused at once, not left to wait for a head that never comes.
      const line = buf.toString('latin1', at, eol).replace(/\r$/, '');
      if (HTTP09_LINE.test(line)) throw http09(line);
    }
    return null;
  }
  if (end + 4 - at > MAX_REQUEST_HEAD_BYTES) throw bad(`request head larger than ${MAX_REQUEST_HEAD_BYTES} bytes`);
  const text = buf.toString('latin1', at, end);
  if (text.includes('\n') && /[^\r]\n|^\n/.test(text)) throw bad('a line of the request head ends in a bare LF');
  const lines = text.split('\r\n');
  // An HTTP/0.9 line whose (empty) head did end is a request too (no version: 0.0), which message-checks refuses, tapped.
  const m = REQUEST_LINE.exec(lines[0]) ?? (HTTP09_LINE.test(lines[0]) ? [lines[0], ...lines[0].split(' '), '0', '0'] : null);
  if (!m) throw bad(`bad request line ${JSON.stringify(lines[0].slice(0, 128))}`);
  if (lines.length - 1 > MAX_HEADERS) throw bad(`more than ${MAX_HEADERS} request headers`);
  const major = Number(m[3]);
  const minor = major === 1 ? Number(m[4]) : 0;
  const http11 = major === 1 && minor === 1;
  const raw: string[] = new Array((lines.length - 1) * 2);
  const headers: Record<string, string | string[]> = {};
  let contentLength = -1;
  let te: string | null = null;
  let close = !http11;
  let expectContinue = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(line[0] === ' ' || line[0] === '\t' ? 'a folded header line (obs-fold)' : `bad header line ${JSON.stringify(line.slice(0, 64))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw bad(`bad header name ${JSON.stringify(name.slice(0, 64))}`);
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) throw bad(`header ${name}: a control character in its value`);
    raw[(i - 1) * 2] = name;
    raw[(i - 1) * 2 + 1] = value;
    const key = name.toLowerCase();
    addHeader(headers, key, value);
    if (key === 'content-length') {
      if (contentLength >= 0) throw badFraming('two Content-Length headers');
      if (!/^\d{1,15}$/.test(value)) throw badFraming(`Content-Length ${JSON.stringify(value.slice(0, 32))} is not a length`);
      contentLength = Number(value);
    } else if (key === 'transfer-encoding') {
      te = te === null ? value : `${te}, ${value}`;
    } else if (key === 'connection') {
      for (const t of value.toLowerCase().split(',')) {
        const o = t.trim();
        if (o === 'close') close = true;
        else if (o === 'keep-alive' && major === 1 && minor === 0) close = false;
      }
    } else if (key === 'expect' && value.toLowerCase() === '100-continue') {
      expectContinue = http11;
    }
  }
  if (te !== null && contentLength >= 0) throw badFraming('both Content-Length and Transfer-Encoding');
  let framing: RequestHead['framing'] = contentLength > 0 ? 'length' : 'none';
  if (te !== null) framing = http11 && te.trim().toLowerCase() === 'chunked' ? 'chunked' : 'unframed';
  // Not HTTP/1.x: nothing after the head is read (message-checks refuses it, and the connection closes).
  if (major !== 1) framing = 'unframed';
  return { method: m[1], target: m[2], major, minor, raw, headers, next: end + 4, framing, contentLength: Math.max(contentLength, 0), close, expectContinue };
}

function http09(line: string): MeshError {
  return new MeshError('MESH_ERR_BAD_VERSION', `HTTP/0.9 request line ${JSON.stringify(line.slice(0, 256))} (no HTTP-version); this sidecar serves HTTP/1.0 and HTTP/1.1 only`);
}

function addHeader(headers: Record<string, string | string[]>, key: string, value: string): void {
  const had = headers[key];
  if (had === undefined) headers[key] = key === 'set-cookie' ? [value] : value;
  else if (key === 'set-cookie') (had as string[]).push(value);
  else if (SINGLE.has(key)) return;
  else headers[key] = `${had}${key === 'cookie' ? '; ' : ', '}${value}`;
}
