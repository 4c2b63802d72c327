// A byte-for-byte TCP relay. With network namespaces the control plane
// listens on the demo bridge (where the sidecars reach it and register at the
// address they connect from); this relay keeps it at its usual loopback
// address too, for this host's tools (`meshlens status`). TLS passes through
// untouched: the relay sees no plaintext and proves no identity.

import net from 'node:net';

export interface TcpRelay {
  /** host:port the relay listens on. */
  address: string;
  close(): Promise<void>;
}

export async function relayTcp(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`relay on ${listen.host}:${listen.port} to ${target.host}:${target.port}: ${e.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as net.AddressInfo;
  return {
    address: `${a.address}:${a.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
