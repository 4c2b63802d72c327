// The client side of `npm run bench:handshakes`, run as its own process so
// its CPU is counted apart from the server's: `concurrency` loops, each
// opening a new TLS connection, presenting its SVID, checking the server's
// chain and SPIFFE id (as a sidecar's pool does), and closing, for `seconds`.
//
// A handshake counts once the server's first TLS 1.3 NewSessionTicket
// arrives: a server sends it only after it has checked our certificate and
// Finished, so a handshake the server refused never counts (in TLS 1.3 the
// client is done one flight before the server is). The tickets are never
// used: no session is offered, so every handshake is a full one.
//
//   node --import tsx bench/handshake-client.ts PORT CONCURRENCY SECONDS KEY CERT BUNDLE SPIFFE-ID
// prints one JSON line: { handshakes, failures, firstFailure, cpuMs }.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { expectPeer } from '../identity/index.ts';

const [port, concurrency, seconds] = process.argv.slice(2, 5).map(Number);
const [keyFile, certFile, bundleFile, peerId] = process.argv.slice(5, 9);
// One secure context for all connections: given key/cert/ca instead, tls.connect parses all three
// PEMs again for every connection (about 0.9 ms of CPU here), which would be the client's largest cost.
const options: tls.ConnectionOptions = {
  host: '127.0.0.1', port, secureContext: tls.createSecureContext({ key: readFileSync(keyFile), cert: readFileSync(certFile), ca: readFileSync(bundleFile), minVersion: 'TLSv1.3' }),
  ALPNProtocols: ['http/1.1'], checkServerIdentity: expectPeer(peerId),
};

let handshakes = 0;
let failures = 0;
let firstFailure = '';
const deadline = Date.now() + seconds * 1000;

function handshake(): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const settle = (failure?: string) => {
      if (done) return;
      done = true;
      if (failure === undefined) handshakes++;
      else { failures++; firstFailure ||= failure; }
      resolve();
    };
    const socket = tls.connect(options);
    socket.once('session', () => { settle(); socket.end(); });
    socket.on('error', (e: NodeJS.ErrnoException) => { settle(`${e.code ?? ''} ${e.message}`); socket.destroy(); });
    socket.once('close', () => settle('closed by the server before its session ticket'));
  });
}

const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < deadline) await handshake();
}));
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ handshakes, failures, firstFailure, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
