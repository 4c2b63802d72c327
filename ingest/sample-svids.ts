// Identities for tests of signed batches (ingest's own and end-to-end ones):
// a mesh CA kept in memory and sidecars with real SVIDs from it, their keys
// made the way a sidecar makes them (newKeyAndCsr), and the ways a forger
// would try to sign without one.

import { CertificateAuthority, newKeyAndCsr } from '../identity/index.ts';
import { BatchSigner, signatureLine, type BatchSignature } from './batch-signer.ts';
import { encodeBatch, sealFrame, type TapBatch, type UnsealedBatch } from './batch.ts';
import type { TapEvent } from './schema/v1.ts';

export const SAMPLE_TRUST_DOMAIN = 'test.local';

export interface SampleSidecar {
  proxy: string;
  service: string;
  keyPem: string;
  /** Leaf first, as a sidecar presents it in TLS. */
  chainPem: string;
  signer: BatchSigner;
}

export async function sampleCa(): Promise<CertificateAuthority> {
  return CertificateAuthority.open({ dir: null, trustDomain: SAMPLE_TRUST_DOMAIN });
}

/** A sidecar `proxy` of `service` with an SVID from `ca` (ttlMs: its lifetime, default the CA's hour). */
export async function sampleSidecar(ca: CertificateAuthority, service: string, proxy: string, ttlMs?: number): Promise<SampleSidecar> {
  const { keyPem, csrPem } = await newKeyAndCsr(proxy);
  const { chainPem } = await ca.sign({ csrPem, service, proxy, ttlMs });
  return { proxy, service, keyPem, chainPem, signer: new BatchSigner(keyPem, chainPem) };
}

/** A signed frame with its signature line replaced (a forger's: another key's signature, someone else's certificate). */
export function withSignature(frame: Buffer, s: BatchSignature): Buffer {
  const end = frame.lastIndexOf(0x0a, frame.length - 2) + 1;
  return Buffer.concat([frame.subarray(0, end), Buffer.from(signatureLine(s))]);
}

/** The signature line a signed frame carries. */
export function signatureOf(frame: Buffer): BatchSignature {
  const start = frame.lastIndexOf(0x0a, frame.length - 2) + 1;
  return JSON.parse(frame.toString('latin1', start, frame.length - 1)) as BatchSignature;
}

/** A forged batch frame for a test: what it is, and how a collector with a trust bundle refuses it. */
export interface Forgery { what: string; frame: Buffer; code: string; message: RegExp }

/**
 * The ways to forge batch `at` (and one far ahead) of the honest, signed
 * stream `honest` of `victim` with made-up traffic: unsigned; signed under
 * a CA of the forger's own (`forger`: an SVID with the victim's CN from
 * another CA); the victim's real certificate with the forger's key; a
 * valid certificate of `other`, another proxy; the victim's own next
 * batch with its events changed, hashed again or not.
 */
export function forgeries(honest: readonly TapBatch[], at: number, victim: SampleSidecar, other: SampleSidecar, forger: SampleSidecar): Forgery[] {
  const { proxy, stream } = honest[at];
  const made = (over: Partial<TapEvent>) => (e: TapEvent) => ({ ...e, ...over, dst_service: 'made-up' }) as TapEvent;
  const plain = (b: TapBatch): UnsealedBatch => ({ proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost, events: b.events, prev_hash: b.prev_hash });
  const fake: UnsealedBatch = { ...plain(honest[at]), events: honest[at].events.map(made({ path: '/forged' })) };
  const ahead: UnsealedBatch = { ...fake, batch: 1000, first_seq: 100_000, prev_hash: 'f'.repeat(64), events: fake.events.map((e, i) => ({ ...e, seq: 100_000 + i })) };
  const genuine = encodeBatch(honest[at]);
  const underForger = sealFrame(fake, undefined, forger.signer).frame;
  const where = `batch ${at} of ${proxy}/${stream}`;
  return [
    { what: 'unsigned', frame: sealFrame(fake).frame, code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`${where}: unsigned \\(schema 3\\)`) },
    { what: 'signed under a CA of its own', frame: underForger, code: 'INGEST_ERR_SIGNATURE', message: /certificate not believed: .*does not chain to the trust bundle/ },
    {
      what: `${proxy}'s real certificate with the forger's key`, frame: withSignature(underForger, { ...signatureOf(underForger), x5c: signatureOf(genuine).x5c }),
      code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`the signature does not verify over hash .* with the key of ${victim.proxy}'s certificate`),
    },
    {
      what: `signed by ${other.proxy}'s valid certificate`, frame: sealFrame(fake, undefined, other.signer).frame,
      code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`signed by ${other.proxy} \\(spiffe://[^)]+/sa/${other.service}\\), but the header names proxy ${proxy}`),
    },
    {
      what: `${proxy}'s own batch with its events changed and hashed again, under its signature`,
      frame: withSignature(sealFrame({ ...plain(honest[at]), events: honest[at].events.map(made({})) }, undefined, forger.signer).frame, signatureOf(genuine)),
      code: 'INGEST_ERR_SIGNATURE', message: /the signature does not verify/,
    },
    { what: `${proxy}'s own batch with its events changed`, frame: Buffer.from(genuine.toString().replace(/"cart"/g, '"made-up"')), code: 'INGEST_ERR_CHAIN', message: /hash mismatch/ },
    { what: 'far ahead, unsigned', frame: sealFrame(ahead).frame, code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`batch 1000 of ${proxy}/${stream}: unsigned`) },
    { what: 'far ahead, signed under a CA of its own', frame: sealFrame(ahead, undefined, forger.signer).frame, code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`batch 1000 of ${proxy}/${stream}: certificate not believed`) },
    { what: `far ahead, signed by ${other.proxy}`, frame: sealFrame(ahead, undefined, other.signer).frame, code: 'INGEST_ERR_SIGNATURE', message: new RegExp(`batch 1000 of ${proxy}/${stream}: signed by ${other.proxy}`) },
  ];
}
