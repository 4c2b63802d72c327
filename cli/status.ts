// `meshlens status`: what the control plane knows, as a table.

import type { ControlStatus } from '../mesh/control/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export const STATUS_FLAGS: FlagSpec[] = [
  { name: 'control', type: 'string', env: 'MESHLENS_CONTROL_URL', default: 'http://127.0.0.1:7071', help: 'control plane URL' },
  { name: 'json', type: 'bool', default: false, help: 'print the raw JSON' },
];

export async function printStatus(f: FlagValues, log: (line: string) => void): Promise<void> {
  const url = `${f.control}/v1/status`;
  let st: ControlStatus;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    st = await res.json() as ControlStatus;
  } catch (e) {
    throw new Error(`cannot read ${url}: ${(e as Error).message}`);
  }
  if (f.json) { console.log(JSON.stringify(st, null, 2)); return; }
  void log;
  console.log(`config version ${st.version}`);
  console.log('\nSIDECAR'.padEnd(20) + 'SERVICE'.padEnd(14) + 'INBOUND'.padEnd(22) + 'CONNECTED  ACKED');
  for (const p of st.proxies) {
    const acked = p.acked_version === p.sent_version ? 'current' : p.nack ? `NACK: ${p.nack.error}` : 'pending';
    console.log(p.proxy.padEnd(19) + p.service.padEnd(14) + (p.inbound || '-').padEnd(22) + (p.connected ? 'yes' : 'no ').padEnd(11) + acked);
  }
  if (st.collector) console.log(`\ncollector: ${JSON.stringify(st.collector)}`);
}
