// The scaled-out path a user follows by hand: `meshlens control`, then for
// each workload `meshlens token create` and `meshlens sidecar` with the
// token in MESHLENS_JOIN_TOKEN; a used token does not work twice; a
// sidecar told to stop while it is still starting stops cleanly once up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Child, freePorts } from '../demo/index.ts';
import { eventually, remoteDemoControl, tempDir } from './stack.ts';

const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const run = promisify(execFile);

test('meshlens token create issues a one-use join token that gives a sidecar its identity, and meshlens status shows it', { timeout: 120_000 }, async () => {
  const dir = tempDir('identity-cli');
  const lines: string[] = [];
  const [controlPort, uiPort, inbound, app] = await freePorts(4);
  const control = new Child('control', ['control', '--data-dir', dir.path, '--listen', `127.0.0.1:${controlPort}`, '--ui', `127.0.0.1:${uiPort}`, '--no-models'], (l) => lines.push(l));
  const url = `https://127.0.0.1:${controlPort}`;
  const remote = remoteDemoControl(url, dir.path);
  const children: Child[] = [control];
  try {
    await eventually('control plane up', async () => { try { await remote.statusJson(); return true; } catch { return false; } });
    const cli = (...args: string[]) => run(process.execPath, [BIN, ...args, '--control', url, '--data-dir', dir.path]);
    const { stdout } = await cli('token', 'create', '--service', 'cart', '--proxy', 'cart-7');
    const token = stdout.trim();
    assert.match(token, /^mlj_[A-Za-z0-9_-]{43}$/);
    const sidecarArgs = ['sidecar', '--id', 'cart-7', '--service', 'cart', '--listen', `127.0.0.1:${inbound}`, '--upstream', `127.0.0.1:${app}`,
      '--control', url, '--trust-bundle', join(dir.path, 'ca', 'bundle.pem')];
    const sidecar = new Child('sidecar cart-7', sidecarArgs, (l) => lines.push(l), { MESHLENS_JOIN_TOKEN: token });
    children.push(sidecar);
    await eventually('cart-7 registered', async () => ((await remote.statusJson()).services as Record<string, unknown[]>).cart?.length === 1);
    const status = await cli('status');
    assert.match(status.stdout, /cart-7\s+cart\s+127\.0\.0\.1:\d+\s+yes/);

    // The same token again, for another sidecar: refused, and that sidecar does not start.
    const again = new Child('sidecar cart-8', ['sidecar', '--id', 'cart-8', '--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${app}`,
      '--control', url, '--trust-bundle', join(dir.path, 'ca', 'bundle.pem')], (l) => lines.push(l), { MESHLENS_JOIN_TOKEN: token });
    children.push(again);
    assert.notEqual(await again.exited, 0);
    assert.ok(lines.some((l) => /cart-8.*MESH_ERR_BAD_JOIN_TOKEN.*unknown or already used/.test(l)), 'the refusal is said');
    assert.equal(((await remote.statusJson()).services as Record<string, unknown[]>).cart.length, 1);
  } catch (e) {
    console.error(lines.slice(-30).join('\n'));
    throw e;
  } finally {
    for (const c of children.reverse()) await c.stop();
    dir.remove();
  }
});

test('a sidecar sent SIGTERM while it is still starting (its certificate not yet issued) starts, then stops cleanly: exit 0, not killed by the signal', { timeout: 120_000 }, async () => {
  const dir = tempDir('signal-start');
  const lines: string[] = [];
  const [controlPort, uiPort, inbound, app] = await freePorts(4);
  const control = new Child('control', ['control', '--data-dir', dir.path, '--listen', `127.0.0.1:${controlPort}`, '--ui', `127.0.0.1:${uiPort}`, '--no-models'], (l) => lines.push(l));
  const url = `https://127.0.0.1:${controlPort}`;
  const remote = remoteDemoControl(url, dir.path);
  // A relay in front of the control plane that holds every connection until released: the sidecar's start waits on it.
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const held: net.Socket[] = [];
  const relay = net.createServer((sock) => {
    held.push(sock);
    sock.pause();
    void released.then(() => {
      const up = net.connect(controlPort, '127.0.0.1');
      sock.pipe(up).pipe(sock);
      sock.resume();
      const end = () => { sock.destroy(); up.destroy(); };
      sock.on('error', end); up.on('error', end);
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
  const relayUrl = `https://127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
  const children: Child[] = [control];
  try {
    await eventually('control plane up', async () => { try { await remote.statusJson(); return true; } catch { return false; } });
    const { stdout } = await run(process.execPath, [BIN, 'token', 'create', '--service', 'cart', '--proxy', 'cart-9', '--control', url, '--data-dir', dir.path]);
    const sidecar = new Child('sidecar cart-9', ['sidecar', '--id', 'cart-9', '--service', 'cart', '--listen', `127.0.0.1:${inbound}`, '--upstream', `127.0.0.1:${app}`,
      '--control', relayUrl, '--trust-bundle', join(dir.path, 'ca', 'bundle.pem')], (l) => lines.push(l), { MESHLENS_JOIN_TOKEN: stdout.trim() });
    children.push(sidecar);
    await eventually('the sidecar asks for its certificate', () => held.length > 0);
    sidecar.kill('SIGTERM');
    await eventually('the signal is taken while starting', () => lines.some((l) => /cart-9.*SIGTERM while starting: stopping once started/.test(l)));
    assert.equal(sidecar.running, true, 'one SIGTERM does not kill a sidecar half-way through its start');
    release();
    assert.deepEqual(await sidecar.ended, { code: 0, signal: null });
    const mine = lines.filter((l) => l.includes('cart-9'));
    const at = (re: RegExp) => mine.findIndex((l) => re.test(l));
    assert.ok(at(/sidecar: inbound 127\.0\.0\.1:\d+/) >= 0 && at(/sidecar: inbound/) < at(/SIGTERM: stopping/) && at(/SIGTERM: stopping/) < at(/stopped cleanly/), mine.join('\n'));
  } catch (e) {
    console.error(lines.slice(-30).join('\n'));
    throw e;
  } finally {
    release();
    for (const s of held) s.destroy();
    relay.close();
    for (const c of children.reverse()) await c.stop();
    dir.remove();
  }
});
