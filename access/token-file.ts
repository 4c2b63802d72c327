// The operator token: made at first start, kept in `<data-dir>/operator-token`
// readable by its owner only, and read again on every later start, as
// Jupyter does. Without a data dir the token lives in memory for one run.
//
// A token file anyone else can read is refused rather than fixed: a token
// that has been world-readable may already be known, and only the operator
// can decide whether to keep it (chmod 600) or make a new one (delete it).

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const TOKEN_FILE_NAME = 'operator-token';

/** URL-safe (it travels in `?token=` and a cookie), and long enough not to be guessed. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32,256}$/;
/** Any permission bit for group or others. */
const LOOSE_BITS = 0o077;

export const ACCESS_ERRORS = {
  /** The token file is readable or writable by someone other than its owner. */
  ACCESS_ERR_TOKEN_PERMISSIONS: 'permissions',
  /** The token file does not hold one token of 32..256 URL-safe characters. */
  ACCESS_ERR_TOKEN_MALFORMED: 'malformed',
  /** The token file is not a regular file (a symbolic link, a directory) or cannot be read or written. */
  ACCESS_ERR_TOKEN_FILE: 'file',
} as const;

export type AccessErrorCode = keyof typeof ACCESS_ERRORS;

export class AccessError extends Error {
  readonly code: AccessErrorCode;
  readonly path: string;

  constructor(code: AccessErrorCode, path: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AccessError';
    this.code = code;
    this.path = path;
  }
}

export interface OperatorToken {
  token: string;
  /** Where it is kept; null when it lives in memory only. */
  file: string | null;
  /** True when this call made it. */
  created: boolean;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The data dir's token, made on first use; with no data dir, a new in-memory token. */
export async function operatorToken(dataDir?: string): Promise<OperatorToken> {
  if (dataDir === undefined) return { token: newToken(), file: null, created: true };
  const file = join(dataDir, TOKEN_FILE_NAME);
  try {
    return { token: await readTokenFile(file), file, created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const token = newToken();
  // Written beside it, then linked into place: a crash never leaves half a
  // token, and link() fails if another process made the file first.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { token: await readTokenFile(file), file, created: false };
    throw new AccessError('ACCESS_ERR_TOKEN_FILE', file, `cannot write the operator token ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    await unlink(tmp).catch(() => {});
  }
  return { token, file, created: true };
}

/** Reads a token file, refusing one others may read, a link, or anything but one token. ENOENT passes through. */
export async function readTokenFile(file: string): Promise<string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw e;
    const why = code === 'ELOOP' ? 'it is a symbolic link; keep the token in a regular file' : (e as Error).message;
    throw new AccessError('ACCESS_ERR_TOKEN_FILE', file, `cannot read the operator token ${file}: ${why}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AccessError('ACCESS_ERR_TOKEN_FILE', file, `operator token ${file} is not a regular file`);
    const mode = st.mode & 0o777;
    if (mode & LOOSE_BITS) {
      throw new AccessError('ACCESS_ERR_TOKEN_PERMISSIONS', file,
        `operator token ${file} has mode ${mode.toString(8).padStart(4, '0')}: only its owner may read it; ` +
        `if nobody else can have read it, run chmod 600 ${file}, otherwise delete it and a new token is made at the next start`);
    }
    const text = (await fh.readFile({ encoding: 'utf8' })).replace(/\r?\n$/, '');
    if (!TOKEN_SHAPE.test(text)) {
      throw new AccessError('ACCESS_ERR_TOKEN_MALFORMED', file,
        `operator token ${file} must hold one token of 32..256 characters A-Z a-z 0-9 _ - (got ${text.length} characters` +
        `${/\s/.test(text) ? ' with white space' : ''}); delete it and a new token is made at the next start`);
    }
    return text;
  } finally {
    await fh.close();
  }
}
