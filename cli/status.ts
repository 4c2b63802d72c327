// `meshlens status`: what the control plane knows, as a table.

import type { ControlStatus } from '../mesh/control/index.ts';
import { controlClient } from './control-client.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export const STATUS_FLAGS: FlagSpec[] = [
  { name: 'control', type: 'string', env: 'MESHLENS_CONTROL_URL', default: 'https://127.0.0.1:7071', help: 'control plane URL' },
  { name: 'data-dir', type: 'string', env: 'MESHLENS_DATA_DIR', default: './.meshlens/data', help: 'where the operator token and the CA bundle are (<data-dir>/operator-token, <data-dir>/ca/bundle.pem)' },
  { name: 'json', type: 'bool', default: false, help: 'print the raw JSON' },
];

export async function printStatus(f: FlagValues, log: (line: string) => void): Promise<void> {
  const url = `${f.control}/v1/status`;
  let st: ControlStatus;
  try {
    const client = await controlClient({ url: String(f.control), dataDir: String(f['data-dir']) });
    const res = await client.request('GET', '/v1/status');
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    st = res.body as ControlStatus;
  } catch (e) {
    throw new Error(`cannot read ${url}: ${(e as Error).message}`);
  }
  if (f.json) { console.log(JSON.stringify(st, null, 2)); return; }
  void log;
  console.log(`config version ${st.version}`);
  console.log('\nSIDECAR'.padEnd(20) + 'SERVICE'.padEnd(14) + 'INBOUND'.padEnd(22) + 'CONNECTED  ACKED');
  for (const p of st.proxies) {
    const acked = p.acked_version === p.sent_version ? 'current' : p.nack ? `NACK: ${p.nack.error}` : 'pending';
    const labels = Object.entries(p.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    console.log(p.proxy.padEnd(19) + p.service.padEnd(14) + (p.inbound || '-').padEnd(22) + (p.connected ? 'yes' : 'no ').padEnd(11) + acked + (labels ? `  ${labels}` : ''));
  }
  for (const r of st.routes?.routes ?? []) console.log(`route ${r.service}: ${r.subsets.map((x) => `${Object.entries(x).filter(([k]) => k !== 'weight').map(([k, v]) => `${k}=${v}`).join(',')} ${x.weight}`).join(' / ')}`);
  if (st.collector) console.log(`\ncollector: ${JSON.stringify(st.collector)}`);
}
