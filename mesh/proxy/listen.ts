// Binds a listener (HTTP or TCP) and reports the address it actually got (port 0 allowed).

import type net from 'node:net';
import type { HostPort } from './options.ts';

export async function listen(server: net.Server, at: HostPort): Promise<HostPort> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => { server.off('error', reject); resolve(); });
  });
  const bound = server.address() as net.AddressInfo;
  return { host: bound.address, port: bound.port };
}
