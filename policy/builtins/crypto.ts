/** crypto.* digests and HMACs (lowercase hex, as OPA), and crypto.hmac.equal in constant time. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { str, type BuiltinDef } from './types.ts';

const digest = (name: string, alg: string): BuiltinDef => ({ arity: 1, fn: ([a]) => createHash(alg).update(str(name, a, 1), 'utf8').digest('hex') });
const hmac = (name: string, alg: string): BuiltinDef => ({
  arity: 2,
  fn: ([x, k]) => createHmac(alg, Buffer.from(str(name, k, 2), 'utf8')).update(str(name, x, 1), 'utf8').digest('hex'),
});

export const cryptoBuiltins: Record<string, BuiltinDef> = {
  'crypto.md5': digest('crypto.md5', 'md5'),
  'crypto.sha1': digest('crypto.sha1', 'sha1'),
  'crypto.sha256': digest('crypto.sha256', 'sha256'),
  'crypto.hmac.md5': hmac('crypto.hmac.md5', 'md5'),
  'crypto.hmac.sha1': hmac('crypto.hmac.sha1', 'sha1'),
  'crypto.hmac.sha256': hmac('crypto.hmac.sha256', 'sha256'),
  'crypto.hmac.sha512': hmac('crypto.hmac.sha512', 'sha512'),
  'crypto.hmac.equal': {
    arity: 2,
    fn: ([a, b]) => {
      const x = Buffer.from(str('crypto.hmac.equal', a, 1), 'utf8'), y = Buffer.from(str('crypto.hmac.equal', b, 2), 'utf8');
      return x.length === y.length && timingSafeEqual(x, y);
    },
  },
};
