// The inbound authorization bundle the control plane hands out: the current
// one (whose digest goes into every snapshot's policy_digest) and a few
// recent ones, served by digest so a sidecar still working through an older
// snapshot can fetch what it names. A bundle is checked before it is taken:
// it must load through opa-wasm and have the authz entrypoint.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBytes, reply } from './http-json.ts';
import { AuthzBundleError, loadAuthzBundle } from '../../policy/index.ts';
import { AUTHZ_ENTRYPOINT, MAX_BUNDLE_BYTES } from './snapshot.ts';

/** Bundles kept servable after being replaced. */
const KEEP = 8;

export interface PolicyStatus {
  /** "" when no policy is configured. */
  digest: string;
  bytes: number;
  /** Where the current bundle came from (a file, "PUT /v1/policy/bundle"). */
  source: string;
  set_at: number;
  /** Bundles accepted since start, and refused (bad bundle). */
  accepted: number;
  refused: number;
  last_error: string;
}

export class PolicyBundles {
  readonly #byDigest = new Map<string, Uint8Array>();
  readonly #listeners = new Set<() => void>();
  #status: PolicyStatus = { digest: '', bytes: 0, source: '', set_at: 0, accepted: 0, refused: 0, last_error: '' };

  constructor(private readonly now: () => number = Date.now) {}

  get digest(): string { return this.#status.digest; }

  status(): PolicyStatus { return { ...this.#status }; }

  get(digest: string): Uint8Array | undefined { return this.#byDigest.get(digest); }

  /** Checks and takes a bundle; returns its digest. Throws AuthzBundleError (counted) for a bad one. */
  async set(bytes: Uint8Array, source: string): Promise<string> {
    let digest: string;
    try {
      ({ digest } = await loadAuthzBundle(bytes, AUTHZ_ENTRYPOINT));
    } catch (e) {
      this.#status.refused++;
      this.#status.last_error = `${source}: ${(e as Error).message}`;
      throw e;
    }
    this.#byDigest.delete(digest);
    this.#byDigest.set(digest, bytes);
    while (this.#byDigest.size > KEEP) this.#byDigest.delete(this.#byDigest.keys().next().value!);
    const changed = digest !== this.#status.digest;
    this.#status = { ...this.#status, digest, bytes: bytes.length, source, set_at: this.now(), accepted: this.#status.accepted + 1 };
    if (changed) for (const fn of this.#listeners) fn();
    return digest;
  }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  /** GET /v1/policy/bundles/<digest> */
  serve(res: ServerResponse, digest: string): void {
    const bytes = this.#byDigest.get(digest);
    if (!bytes) return reply(res, 404, { code: 'MESH_ERR_NO_BUNDLE', message: `no policy bundle with digest "${digest.slice(0, 80)}"` });
    res.writeHead(200, {
      'content-type': 'application/gzip', 'content-length': bytes.length,
      // The URL names the content: it never changes.
      'cache-control': 'public, max-age=31536000, immutable', etag: `"${digest}"`,
    });
    res.end(bytes);
  }

  /** PUT /v1/policy/bundle: the server has authenticated the operator (Host, Origin, token) before this. */
  put(req: IncomingMessage, res: ServerResponse, version: () => number): void {
    readBytes(req, MAX_BUNDLE_BYTES, (tooLarge, bytes) => {
      if (tooLarge) return reply(res, 413, { code: 'MESH_ERR_BAD_POLICY_BUNDLE', message: `bundle larger than ${MAX_BUNDLE_BYTES} bytes` });
      this.set(bytes, 'PUT /v1/policy/bundle').then(
        (digest) => reply(res, 200, { digest, version: version() }),
        (e: unknown) => {
          if (e instanceof AuthzBundleError) reply(res, 400, { code: 'MESH_ERR_BAD_POLICY_BUNDLE', message: e.message });
          else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
        },
      );
    });
  }
}
