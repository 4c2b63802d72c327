// `meshlens token create` and `meshlens ca rotate`: the operator side of
// workload identity, through the control plane's operator API (HTTPS
// checked against <data-dir>/ca/bundle.pem, the token in <data-dir>/operator-token).

import { OPERATOR_CLIENT_FLAGS, controlClient } from './control-client.ts';
import { parseFlags, UsageError, type FlagSpec } from './flags.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

const CLIENT_FLAGS = OPERATOR_CLIENT_FLAGS;

const TOKEN_FLAGS: FlagSpec[] = [
  ...CLIENT_FLAGS,
  { name: 'service', type: 'string', help: 'the service the sidecar fronts (its SPIFFE id: spiffe://<td>/ns/default/sa/<service>)' },
  { name: 'proxy', type: 'string', help: 'the sidecar\'s proxy id (its --id; the certificate\'s CN)' },
  { name: 'ttl-s', type: 'int', default: 600, help: 'seconds the token stays good (it is good for one use)' },
];

export const TOKEN_SUMMARY = COMMAND_SUMMARIES.token;
export const CA_SUMMARY = COMMAND_SUMMARIES.ca;

export async function runToken(argv: string[], log: (line: string) => void): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb !== 'create') throw new UsageError([`expected "create", got "${verb ?? ''}"`], `usage: meshlens token create --service S --proxy P [--ttl-s N]`);
  const f = parseFlags('token create', TOKEN_SUMMARY, rest, TOKEN_FLAGS);
  const missing = ['service', 'proxy'].filter((k) => !f[k]).map((k) => `--${k}: required`);
  if (missing.length) throw new UsageError(missing, 'usage: meshlens token create --service S --proxy P [--ttl-s N]');
  const client = await controlClient({ url: String(f.control), dataDir: String(f['data-dir']) });
  const r = await client.request('POST', '/v1/identity/join-tokens', { service: f.service, proxy: f.proxy, ttl_s: Number(f['ttl-s']) });
  if (r.status !== 201) throw new Error(`control plane answered ${r.status}: ${JSON.stringify(r.body)}`);
  // The token itself goes to stdout alone, for MESHLENS_JOIN_TOKEN=$(meshlens token create …).
  console.log((r.body as { token: string }).token);
  void log;
}

export async function runCa(argv: string[], log: (line: string) => void): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb !== 'rotate') throw new UsageError([`expected "rotate", got "${verb ?? ''}"`], 'usage: meshlens ca rotate');
  const f = parseFlags('ca rotate', CA_SUMMARY, rest, CLIENT_FLAGS);
  const client = await controlClient({ url: String(f.control), dataDir: String(f['data-dir']) });
  const r = await client.request('POST', '/v1/identity/rotate-ca');
  if (r.status !== 202) throw new Error(`control plane answered ${r.status}: ${JSON.stringify(r.body)}`);
  const b = r.body as { complete_at: number; pending_root: string };
  log(`ca: new root ${b.pending_root.slice(0, 23)}… is trusted now; it signs from ${new Date(b.complete_at).toISOString()} on`);
}
