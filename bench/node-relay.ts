// The floor a Node.js proxy stands on, as a bench:proxy row: a TCP relay
// that copies bytes between each client connection and its own upstream
// connection, with no HTTP at all (no parsing, no routing, no taps). What it
// costs beside HAProxy is what one Node.js event loop costs to move the same
// bytes through the same sockets; what the sidecar costs beyond it is ours.
//
//   node --import tsx bench/node-relay.ts <listen port> <upstream port>

import net from 'node:net';

const [listen, upstream] = process.argv.slice(2).map(Number);
if (!(listen > 0 && upstream > 0)) {
  console.error('usage: node-relay.ts <listen port> <upstream port>');
  process.exit(2);
}
net.createServer({ noDelay: true }, (client) => {
  const up = net.connect({ host: '127.0.0.1', port: upstream, noDelay: true });
  client.on('data', (d) => { if (!up.write(d)) client.pause(); });
  up.on('drain', () => client.resume());
  up.on('data', (d) => { if (!client.write(d)) up.pause(); });
  client.on('drain', () => up.resume());
  client.on('close', () => up.destroy());
  up.on('close', () => client.destroy());
  client.on('error', () => up.destroy());
  up.on('error', () => client.destroy());
}).listen(listen, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
