// Fetches the inbound authorization bundle a snapshot names from the control
// plane (GET /v1/policy/bundles/<digest>), checks that its bytes hash to that
// digest and loads it through opa-wasm. Any failure rejects with a message
// that names the digest and the step, for the NACK.

import http from 'node:http';
import https from 'node:https';
import { bundleDigest, loadAuthzBundle, type AuthzPolicy } from '../../policy/index.ts';
import { AUTHZ_ENTRYPOINT, MAX_BUNDLE_BYTES, policyBundlePath } from '../control/snapshot.ts';

/** `tls`: client certificate and server check for an https:// control plane (bundles are served over mTLS only). */
export async function fetchAuthzPolicy(controlUrl: string, digest: string, timeoutMs: number, tls?: https.RequestOptions): Promise<AuthzPolicy> {
  const url = new URL(policyBundlePath(digest), controlUrl);
  const bytes = await fetchBytes(url, timeoutMs, tls).catch((e: Error) => {
    throw new Error(`policy bundle ${digest.slice(0, 12)}: fetch ${url.pathname} from ${url.host} failed: ${e.message}`, { cause: e });
  });
  const got = bundleDigest(bytes);
  if (got !== digest) throw new Error(`policy bundle ${digest.slice(0, 12)}: digest mismatch: the ${bytes.length} bytes served hash to ${got.slice(0, 12)}`);
  return loadAuthzBundle(bytes, AUTHZ_ENTRYPOINT);
}

function fetchBytes(url: URL, timeoutMs: number, tls?: https.RequestOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { ...tls, agent: false, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`control plane answered ${res.statusCode}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BUNDLE_BYTES) req.destroy(new Error(`bundle larger than ${MAX_BUNDLE_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
