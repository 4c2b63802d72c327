// The demo mesh with a network namespace per workload (as `meshlens up` runs
// it as root): honest traffic is tapped exactly at every hop, and a sidecar's
// outbound listener, which treats whoever connects as its workload, is
// reachable from its workload's namespace only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import {
  ip, IP_BIN, openDemoNetwork, quietTopology, sendExactly, startDemoMesh, type DemoMesh, type DemoNetwork,
} from '../demo/index.ts';
import { assertNoSidecarLoss, assertTapsPerHop, demoControl, DEMO_HOPS, eventually, startTestControl, tempDir } from './stack.ts';

const N = 300;

/** Why this machine cannot run the test, or null. */
async function unsupported(): Promise<string | null> {
  if (process.getuid?.() !== 0) return `network namespaces need root (running as uid ${process.getuid?.()})`;
  try {
    await ip(['netns', 'list']);
    return null;
  } catch (e) {
    return `\`ip netns\` is unavailable: ${(e as Error).message}`;
  }
}
const skip = await unsupported();

/** Connects to host:port from `netns` (null: this host's network); 'connected' or the error code. */
function probe(netns: string | null, hostPort: string): Promise<string> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  if (netns === null) {
    return new Promise((resolve) => {
      const s = net.connect({ host, port, timeout: 3_000 }, () => { s.destroy(); resolve('connected'); });
      s.on('timeout', () => { s.destroy(); resolve('ETIMEDOUT'); });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
  }
  const script = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port},timeout:3000},()=>{s.destroy();console.log('connected')});` +
    `s.on('timeout',()=>{s.destroy();console.log('ETIMEDOUT')});s.on('error',(e)=>console.log(e.code||e.message))`;
  return new Promise((resolve, reject) => {
    execFile(IP_BIN, ['netns', 'exec', netns, process.execPath, '-e', script], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`probe from ${netns} to ${hostPort}: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

async function leftovers(made: { netns: string[]; links: string[] }): Promise<string[]> {
  const netns = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]);
  const links = [...(await ip(['-o', 'link', 'show'])).matchAll(/^\d+: ([^:@\s]+)/gm)].map((m) => m[1]);
  return [...made.netns.filter((n) => netns.includes(n)), ...made.links.filter((l) => links.includes(l))];
}

test(`with a namespace per workload, ${N} front-door requests leave exactly ${N} taps at every hop, and only cart's own namespace reaches cart's outbound listener`, { skip: skip ?? false, timeout: 180_000 }, async () => {
  const dir = tempDir('netns');
  const lines: string[] = [];
  const topology = quietTopology();
  const network: DemoNetwork = await openDemoNetwork(topology.map((s) => s.name), (l) => lines.push(l));
  let core: Awaited<ReturnType<typeof startTestControl>> | undefined;
  let mesh: DemoMesh | undefined;
  try {
    // The namespaces reach the control plane on the bridge, as `meshlens up` makes it listen.
    core = await startTestControl(dir.path, lines, ['--listen', `${network.hostAddress}:0`]);
    const t0 = Date.now();
    mesh = await startDemoMesh({ control: demoControl(core), topology, network, log: (l) => lines.push(l) });
    console.log(`isolated demo mesh ready in ${Date.now() - t0} ms`);
    assert.equal(new URL(mesh.ingressUrl).hostname, network.hosts.get('web')!.address, 'the front door is web\'s bridge address');
    for (const s of topology) {
      const addrs: string[] = core.control.status().services[s.name].map((e) => e.addr);
      assert.deepEqual(addrs, [network.hosts.get(s.name)!.address], `${s.name} is registered at its namespace's address`);
    }

    const statuses = await sendExactly(mesh.ingressUrl, N, 16);
    assert.deepEqual([...statuses], [[200, N]], 'every request through the isolated mesh succeeds');

    // The attack: a process that is not cart tries to send through cart's outbound listener.
    const cart = mesh.listeners.get('cart')!;
    const cartNs = network.hosts.get('cart')!;
    const webNs = network.hosts.get('web')!;
    const outboundPort = cart.outbound.slice(cart.outbound.lastIndexOf(':') + 1);
    const attempts: [string, string | null, string][] = [
      ['this host, on 127.0.0.1', null, cart.outbound],
      ['this host, on cart\'s bridge address', null, `${cartNs.address}:${outboundPort}`],
      ['web\'s namespace, on 127.0.0.1', webNs.netns, cart.outbound],
      ['web\'s namespace, on cart\'s bridge address', webNs.netns, `${cartNs.address}:${outboundPort}`],
      // Nor can anyone bypass cart's sidecar to its workload.
      ['this host, to cart\'s workload port on its bridge address', null, `${cartNs.address}:${cart.app.slice(cart.app.lastIndexOf(':') + 1)}`],
    ];
    for (const [from, netns, target] of attempts) {
      assert.equal(await probe(netns, target), 'ECONNREFUSED', `from ${from}: ${target} must be refused`);
    }
    assert.equal(await probe(cartNs.netns, cart.outbound), 'connected', 'cart\'s own namespace reaches its outbound listener');

    const expected = N * DEMO_HOPS.length;
    await eventually(`${expected} l7 taps stored`, async () => await core!.store.countTaps({ kind: 'l7.request' }) >= expected);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    await assertTapsPerHop(core.store, N);
    assert.equal(core.collector.counters().batches_rejected, 0);
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    await mesh?.close();
    await core?.close();
    await network.close();
    dir.remove();
  }
  assert.deepEqual(await leftovers(network.made()), [], 'every namespace and link is gone after close');
});

test('a network that fails half-way is torn down whole, the error naming the command and its stderr; namespaces of dead runs are removed at the next open', { skip: skip ?? false, timeout: 60_000 }, async () => {
  // The second "web" fails at `ip netns add` (the namespace exists): what the first made must go.
  await assert.rejects(openDemoNetwork(['web', 'cart', 'web']), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'DEMO_ERR_NETNS');
    assert.match(e.message, /^ip netns add ml-\d+(n\d+)?-web: exit 1: .*File exists/);
    return true;
  });
  const tag = new RegExp(`^ml-?${process.pid}`);
  const netns = (await ip(['netns', 'list'])).split('\n').filter((l) => tag.test(l));
  const links = [...(await ip(['-o', 'link', 'show'])).matchAll(/^\d+: ([^:@\s]+)/gm)].map((m) => m[1]).filter((l) => tag.test(l));
  assert.deepEqual([...netns, ...links], [], 'nothing of the failed open is left');

  // A run that died without closing: its pid is gone, its namespace and bridge are not.
  const dead = await new Promise<number>((resolve) => { const c = execFile(process.execPath, ['-e', '0'], () => resolve(c.pid!)); });
  await ip(['netns', 'add', `ml-${dead}-web`]);
  await ip(['link', 'add', `ml${dead}br`, 'type', 'bridge']);
  const lines: string[] = [];
  const fresh = await openDemoNetwork(['web'], (l) => lines.push(l));
  try {
    assert.deepEqual(lines, [`demo: removed what dead runs left: ml-${dead}-web, ml${dead}br`]);
    assert.ok(!(await ip(['netns', 'list'])).split('\n').some((l) => l.startsWith(`ml-${dead}-`)), 'the dead run\'s namespace is removed');
    assert.ok(!(await ip(['-o', 'link', 'show'])).includes(`ml${dead}br`), 'the dead run\'s bridge is removed');
  } finally {
    await fresh.close();
  }
});
