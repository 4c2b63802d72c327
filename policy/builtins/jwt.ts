/**
 * io.jwt.decode and the io.jwt.verify_* family (JWS compact serialisation).
 * Keys for the asymmetric algorithms are a PEM certificate, a PEM public
 * key, a JWK or a JWK set (any key in the set may verify), as in OPA.
 */
import { createHmac, createPrivateKey, createPublicKey, timingSafeEqual, sign as cryptoSign, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { fromJSON, RObject, type Value } from '../value.ts';
import { BuiltinError, obj, str, type BuiltinDef } from './types.ts';
import { marshal } from './encoding.ts';

interface Parts { header: Record<string, unknown>; payload: unknown; signed: string; sig: Buffer }

const b64url = (fn: string, s: string): Buffer => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new BuiltinError(fn, 'failed to decode JWT: illegal base64 data');
  return Buffer.from(s, 'base64url');
};

function split(fn: string, token: string): Parts {
  const p = token.split('.');
  if (p.length !== 3) throw new BuiltinError(fn, 'encoded JWT had no period separators');
  let header: unknown, payload: unknown;
  try { header = JSON.parse(b64url(fn, p[0]).toString('utf8')); } catch (e) { throw e instanceof BuiltinError ? e : new BuiltinError(fn, 'JWT header had invalid encoding'); }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new BuiltinError(fn, 'JWT header had invalid encoding');
  try { payload = JSON.parse(b64url(fn, p[1]).toString('utf8')); } catch (e) { throw e instanceof BuiltinError ? e : new BuiltinError(fn, 'JWT payload had invalid encoding'); }
  return { header: header as Record<string, unknown>, payload, signed: `${p[0]}.${p[1]}`, sig: b64url(fn, p[2]) };
}

function keysOf(fn: string, material: string): KeyObject[] {
  const text = material.trim();
  try {
    if (text.startsWith('{')) {
      const j = JSON.parse(text) as { keys?: object[] };
      return (j.keys ?? [j]).map((k) => createPublicKey({ key: k as never, format: 'jwk' }));
    }
    return [createPublicKey(text)];
  } catch { throw new BuiltinError(fn, 'failed to parse a JWK key (set) or PEM certificate/public key'); }
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function verifyWith(alg: string, signed: string, sig: Buffer, key: KeyObject): boolean {
  const hash = HASH[alg.slice(2)];
  const data = Buffer.from(signed, 'utf8');
  try {
    if (alg.startsWith('RS')) return cryptoVerify(hash, data, key, sig);
    if (alg.startsWith('PS')) return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig);
    return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch { return false; }
}

function asymmetric(alg: string): BuiltinDef {
  const fn = `io.jwt.verify_${alg.toLowerCase()}`;
  return {
    arity: 2,
    fn: ([t, k]) => {
      const p = split(fn, str(fn, t, 1));
      return keysOf(fn, str(fn, k, 2)).some((key) => verifyWith(alg, p.signed, p.sig, key));
    },
  };
}

function hmac(bits: string): BuiltinDef {
  const fn = `io.jwt.verify_hs${bits}`;
  return {
    arity: 2,
    fn: ([t, k]) => {
      const p = split(fn, str(fn, t, 1));
      const mac = createHmac(HASH[bits], Buffer.from(str(fn, k, 2), 'utf8')).update(p.signed).digest();
      return mac.length === p.sig.length && timingSafeEqual(mac, p.sig);
    },
  };
}

const ASYM = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const CONSTRAINTS = new Set(['cert', 'secret', 'alg', 'iss', 'aud', 'time']);

/**
 * io.jwt.decode_verify: [valid, header, payload], or [false, {}, {}] when the signature, algorithm,
 * issuer, audience, exp or nbf (against `time`, default now) rules out the token. Bad constraints are errors.
 */
function decodeVerify(fn: string, token: string, constraints: RObject, nowNs: number): Value {
  const c = new Map<string, Value>();
  for (const [k, v] of constraints.entries()) {
    if (typeof k !== 'string' || !CONSTRAINTS.has(k)) throw new BuiltinError(fn, `unknown token validation constraint: ${String(k)}`);
    c.set(k, v);
  }
  if (c.has('cert') === c.has('secret')) throw new BuiltinError(fn, 'exactly one of "cert" or "secret" must be given');
  const invalid: Value = [false, new RObject(), new RObject()];
  const p = split(fn, token);
  const alg = p.header.alg;
  if (typeof alg !== 'string' || (c.has('alg') && c.get('alg') !== alg)) return invalid;
  let ok: boolean;
  if (alg.startsWith('HS') && HASH[alg.slice(2)]) {
    if (!c.has('secret')) return invalid;
    const mac = createHmac(HASH[alg.slice(2)], Buffer.from(str(fn, c.get('secret')!, 2), 'utf8')).update(p.signed).digest();
    ok = mac.length === p.sig.length && timingSafeEqual(mac, p.sig);
  } else if (ASYM.includes(alg)) {
    if (!c.has('cert')) return invalid;
    ok = keysOf(fn, str(fn, c.get('cert')!, 2)).some((key) => verifyWith(alg, p.signed, p.sig, key));
  } else return invalid;
  if (!ok) return invalid;
  const payload = fromJSON(p.payload);
  if (!(payload instanceof RObject)) throw new BuiltinError(fn, 'JWT payload had invalid encoding');
  const now = c.has('time') ? c.get('time') : nowNs;
  if (typeof now !== 'number') throw new BuiltinError(fn, 'time constraint must be a number');
  for (const claim of ['exp', 'nbf']) {
    const v = payload.get(claim);
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new BuiltinError(fn, `${claim} value must be a number`);
    if (claim === 'exp' ? now >= v * 1e9 : now < v * 1e9) return invalid;
  }
  if (c.has('iss') && payload.get('iss') !== c.get('iss')) return invalid;
  const aud = payload.get('aud'), want = c.get('aud');
  if (aud !== undefined || want !== undefined) {
    if (want === undefined || aud === undefined) return invalid;
    if (!(typeof aud === 'string' ? aud === want : Array.isArray(aud) && aud.includes(want))) return invalid;
  }
  return [true, fromJSON(p.header), payload];
}

/** io.jwt.encode_sign_raw: header and payload are JSON text, key a JWK (oct for HS*, private RSA/EC otherwise). */
function encodeSign(fn: string, header: string, payload: string, jwk: string): string {
  let h: { alg?: unknown }, k: { kty?: string; k?: string };
  try { h = JSON.parse(header); k = JSON.parse(jwk); JSON.parse(payload); } catch { throw new BuiltinError(fn, 'header, payload and key must be JSON'); }
  const alg = String(h.alg);
  const signed = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  let sig: Buffer;
  if (alg.startsWith('HS') && HASH[alg.slice(2)]) {
    if (k.kty !== 'oct' || typeof k.k !== 'string') throw new BuiltinError(fn, 'HMAC signing needs an "oct" JWK');
    sig = createHmac(HASH[alg.slice(2)], Buffer.from(k.k, 'base64url')).update(signed).digest();
  } else if (ASYM.includes(alg)) {
    let key: KeyObject;
    try { key = createPrivateKey({ key: k as never, format: 'jwk' }); } catch { throw new BuiltinError(fn, 'invalid private JWK'); }
    const hash = HASH[alg.slice(2)], data = Buffer.from(signed);
    sig = alg.startsWith('RS') ? cryptoSign(hash, data, key)
      : alg.startsWith('PS') ? cryptoSign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : cryptoSign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
  } else throw new BuiltinError(fn, `unsupported signature algorithm ${alg}`);
  return `${signed}.${sig.toString('base64url')}`;
}

export const jwtBuiltins: Record<string, BuiltinDef> = {
  'io.jwt.encode_sign_raw': {
    arity: 3,
    fn: ([h, p, k]) => encodeSign('io.jwt.encode_sign_raw', str('io.jwt.encode_sign_raw', h, 1), str('io.jwt.encode_sign_raw', p, 2), str('io.jwt.encode_sign_raw', k, 3)),
  },
  'io.jwt.encode_sign': {
    arity: 3,
    fn: ([h, p, k]) => encodeSign('io.jwt.encode_sign', marshal(obj('io.jwt.encode_sign', h, 1)), marshal(obj('io.jwt.encode_sign', p, 2)), marshal(obj('io.jwt.encode_sign', k, 3))),
  },
  'io.jwt.decode_verify': {
    arity: 2,
    fn: ([t, c], ctx) => decodeVerify('io.jwt.decode_verify', str('io.jwt.decode_verify', t, 1), obj('io.jwt.decode_verify', c, 2), ctx.nowNs()),
  },
  'io.jwt.decode': {
    arity: 1,
    fn: ([t]) => {
      const p = split('io.jwt.decode', str('io.jwt.decode', t, 1));
      if ('enc' in p.header) throw new BuiltinError('io.jwt.decode', 'JWT is a JWE object, which is not supported');
      const payload = fromJSON(p.payload);
      if (!(payload instanceof RObject)) throw new BuiltinError('io.jwt.decode', 'JWT payload had invalid encoding');
      return [fromJSON(p.header), payload, p.sig.toString('hex')] as Value;
    },
  },
  'io.jwt.verify_hs256': hmac('256'),
  'io.jwt.verify_hs384': hmac('384'),
  'io.jwt.verify_hs512': hmac('512'),
  ...Object.fromEntries(ASYM.map((a) => [`io.jwt.verify_${a.toLowerCase()}`, asymmetric(a)])),
};
