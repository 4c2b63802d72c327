// Waiting for the servers a bench started as child processes.

import net from 'node:net';
import tls from 'node:tls';

/**
 * Resolves once 127.0.0.1:port accepts TCP connections (`timeoutMs` at most). With
 * `tlsOptions`, once a TLS handshake with them succeeds: a mutual-TLS
 * listener counts (and logs) a bare TCP probe as a refused handshake.
 */
export async function waitForPort(port: number, tlsOptions?: tls.ConnectionOptions, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tlsOptions
        ? tls.connect({ ...tlsOptions, host: '127.0.0.1', port }, () => { s.end(); resolve(true); })
        : net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => { s.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing ${tlsOptions ? 'completing a TLS handshake' : 'listening'} on 127.0.0.1:${port} after ${timeoutMs / 1000} s`);
}
