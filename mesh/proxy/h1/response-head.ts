// The head of an upstream's HTTP/1.1 response (RFC 9112 §4-6), parsed
// strictly: the sidecar forwards what it parses here to a client, so
// anything two readers could understand differently (a folded header, a
// bare CR, two Content-Lengths that disagree, Content-Length beside
// Transfer-Encoding) is an error, not a guess. The caller closes the
// connection on any error: where the next response starts is unknown.

/** Largest response head accepted, as Node's own default (--max-http-header-size). */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 200;

export interface ResponseHead {
  /** 1.0 or 1.1. */
  minor: 0 | 1;
  status: number;
  reason: string;
  /** Name, value, name, value … as received (names keep their case). */
  raw: string[];
  /** Bytes of the head, the blank line included. */
  size: number;
  /** How the body is delimited: none yet known here (HEAD, 1xx, 204, 304 are the caller's), by length, chunked, or until close. */
  framing: 'length' | 'chunked' | 'close';
  contentLength: number;
  /** The upstream asked to close after this response (`Connection: close`, or HTTP/1.0 without keep-alive). */
  close: boolean;
}

export class ResponseHeadError extends Error {}

// A header name is a token (RFC 9110 §5.6.2); a value has no CR, LF or NUL (§5.5).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n\0]*))?$/;

/**
 * Parses the head at the start of `buf`: null while it is incomplete (and
 * under the size bound); throws ResponseHeadError when it is not a head
 * the sidecar will forward.
 */
export function parseResponseHead(buf: Buffer): ResponseHead | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) throw new ResponseHeadError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    return null;
  }
  if (end + 4 > MAX_HEAD_BYTES) throw new ResponseHeadError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
  const text = buf.toString('latin1', 0, end);
  const lines = text.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]);
  if (!m) throw new ResponseHeadError(`bad status line ${JSON.stringify(lines[0].slice(0, 64))}`);
  if (lines.length - 1 > MAX_HEADERS) throw new ResponseHeadError(`more than ${MAX_HEADERS} response headers`);
  const minor = m[1] === '1' ? 1 : 0;
  const raw: string[] = new Array((lines.length - 1) * 2);
  let contentLength = -1;
  let chunked = false;
  let close = minor === 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseHeadError(`bad header line ${JSON.stringify(line.slice(0, 64))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ResponseHeadError(`bad header name ${JSON.stringify(name.slice(0, 64))}`);
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) throw new ResponseHeadError(`header ${name}: a value with CR, LF or NUL`);
    raw[(i - 1) * 2] = name;
    raw[(i - 1) * 2 + 1] = value;
    switch (name.length) {
      case 10: if (name.toLowerCase() === 'connection') close = connectionCloses(value, close, minor); break;
      case 14: if (name.toLowerCase() === 'content-length') contentLength = oneLength(value, contentLength); break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          if (chunked || value.toLowerCase() !== 'chunked') throw new ResponseHeadError(`Transfer-Encoding ${JSON.stringify(value)}: only one "chunked" is forwarded`);
          chunked = true;
        }
        break;
    }
  }
  if (chunked && contentLength >= 0) throw new ResponseHeadError('both Content-Length and Transfer-Encoding');
  if (chunked && minor === 0) throw new ResponseHeadError('Transfer-Encoding on HTTP/1.0');
  return {
    minor, status: Number(m[2]), reason: m[3] ?? '', raw, size: end + 4,
    framing: chunked ? 'chunked' : contentLength >= 0 ? 'length' : 'close',
    contentLength: Math.max(contentLength, 0),
    close,
  };
}

function oneLength(value: string, seen: number): number {
  // "5, 5" is one length said twice (RFC 9110 §8.6); "5, 6" or two headers that disagree are not.
  let n = -1;
  for (const part of value.split(',')) {
    const p = part.trim();
    if (!/^\d{1,15}$/.test(p)) throw new ResponseHeadError(`Content-Length ${JSON.stringify(value)} is not a length`);
    const v = Number(p);
    if (n >= 0 && v !== n) throw new ResponseHeadError(`Content-Length ${JSON.stringify(value)} disagrees with itself`);
    n = v;
  }
  if (seen >= 0 && seen !== n) throw new ResponseHeadError(`two Content-Lengths: ${seen} and ${n}`);
  return n;
}

function connectionCloses(value: string, current: boolean, minor: 0 | 1): boolean {
  for (const t of value.toLowerCase().split(',')) {
    const o = t.trim();
    if (o === 'close') return true;
    if (o === 'keep-alive' && minor === 0) current = false;
  }
  return current;
}
