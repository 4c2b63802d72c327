// The control plane's own TLS identity: an SVID of the mesh CA
// (spiffe://<td>/ns/meshlens/sa/control, also valid for its DNS names and
// IPs so that plain HTTPS clients such as the CLI can check it), renewed at
// half its lifetime, and the two steps of a CA rotation as they concern the
// server: trust the new root at once, sign with it (and present a
// certificate of it) one SVID lifetime later, when every sidecar has renewed
// onto the new bundle. Each change hands the server a new TLS context;
// connections keep the one they shook hands with.

import type { SecureContextOptions } from 'node:tls';
import type { CertificateAuthority } from '../../identity/index.ts';
import { CONTROL_NAMESPACE, CONTROL_SERVICE } from './snapshot.ts';

export type RotationState = { state: 'none' } | { state: 'spreading'; pending_root: string; complete_at: number };

export class ServerIdentity {
  #own!: Awaited<ReturnType<CertificateAuthority['issueOwn']>>;
  #renewal: NodeJS.Timeout | undefined;
  #rotation: NodeJS.Timeout | undefined;
  #rotationDue = 0;
  readonly #names: { dns: string[]; ips: string[] };

  private constructor(
    private readonly ca: CertificateAuthority,
    private readonly ttlMs: number,
    names: string[],
    /** Applies a new context to the server (https.Server#setSecureContext). */
    private readonly apply: (ctx: SecureContextOptions) => void,
    private readonly log: (m: string) => void,
  ) {
    const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
    const bare = names.map((n) => n.replace(/^\[|\](:\d+)?$/g, '').replace(/^([^:]+):\d+$/, '$1')).filter((n) => n !== '0.0.0.0' && n !== '::');
    this.#names = {
      dns: [...new Set(['localhost', ...bare.filter((n) => !isIp(n))])],
      ips: [...new Set(['127.0.0.1', '::1', ...bare.filter(isIp)])],
    };
  }

  /** `names`: the listen host and any extra names (ports are dropped). */
  static async start(ca: CertificateAuthority, ttlMs: number, names: string[], apply: (ctx: SecureContextOptions) => void, log: (m: string) => void): Promise<ServerIdentity> {
    const id = new ServerIdentity(ca, ttlMs, names, apply, log);
    await id.#issue();
    id.#scheduleRenewal();
    // A rotation begun before a restart completes one lifetime after this start (sidecars may have just reconnected).
    if (ca.pendingRoot) id.#scheduleCompletion(ttlMs);
    return id;
  }

  /** Key, certificate chain and the bundle to check clients against. */
  context(): SecureContextOptions {
    return { key: this.#own.keyPem, cert: this.#own.chainPem, ca: this.ca.bundle.toPem() };
  }

  rotation(): RotationState {
    const pending = this.ca.pendingRoot;
    return pending ? { state: 'spreading', pending_root: pending.fingerprint256, complete_at: this.#rotationDue } : { state: 'none' };
  }

  /** Step 1 of a CA rotation (throws IdentityError if one is under way); step 2 follows by itself. */
  async beginRotation(): Promise<RotationState> {
    await this.ca.beginRotation();
    this.log(`identity: CA rotation begun: new root ${this.ca.pendingRoot!.fingerprint256.slice(0, 23)} trusted now, signing in ${Math.round(this.ttlMs / 1000)} s`);
    this.apply(this.context()); // trust certificates of the new root from now on
    this.#scheduleCompletion(this.ttlMs);
    return this.rotation();
  }

  close(): void {
    clearTimeout(this.#renewal);
    clearTimeout(this.#rotation);
  }

  async #issue(): Promise<void> {
    this.#own = await this.ca.issueOwn({
      service: CONTROL_SERVICE, namespace: CONTROL_NAMESPACE, proxy: CONTROL_SERVICE, ttlMs: this.ttlMs,
      dnsNames: this.#names.dns, ips: this.#names.ips,
    });
  }

  #scheduleRenewal(): void {
    this.#renewal = setTimeout(async () => {
      try {
        await this.#issue();
        this.apply(this.context());
      } catch (e) {
        this.log(`renewing the control plane's own certificate failed: ${(e as Error).message}`);
      }
      this.#scheduleRenewal();
    }, Math.max(1_000, (this.#own.svid.notAfter - Date.now()) / 2));
    this.#renewal.unref();
  }

  /** Step 2, once every sidecar has renewed (and so holds the new bundle): sign with the new root, our own certificate first. */
  #scheduleCompletion(ms: number): void {
    this.#rotationDue = Date.now() + ms;
    this.#rotation = setTimeout(async () => {
      try {
        await this.ca.completeRotation();
        await this.#issue();
        this.apply(this.context());
        this.log('identity: CA rotation complete: the new root signs every certificate from now on');
      } catch (e) {
        this.log(`identity: completing the CA rotation failed (${(e as Error).message}); retrying in 10 s`);
        this.#scheduleCompletion(10_000);
      }
    }, ms);
    this.#rotation.unref();
  }
}
