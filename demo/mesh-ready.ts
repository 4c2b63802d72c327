// When the demo mesh (or a change of its instances) is ready: read from the
// control plane's status, never by sending a request (a request would add
// taps that exact-count tests would see).

import net from 'node:net';
import type { Child } from './child.ts';
import type { DemoControl } from './mesh.ts';

export interface ReadyCheck {
  /** Instances that must be up: sidecar connected, and (unless a background job's) registered as an endpoint. */
  up: { id: string; service: string; inbound: boolean }[];
  /** Instances that must be gone from the registry. */
  gone?: { id: string; service: string }[];
  /** Processes that must keep running meanwhile. */
  processes: () => Child[];
  /** The front door, which must accept TCP connections. */
  frontDoor?: URL;
  timeoutMs: number;
  /** What is being waited for, for the error. */
  what: string;
}

/** Waits until `check` holds and every connected sidecar ACKed its newest snapshot; throws naming what is missing. */
export async function waitUntilReady(control: DemoControl, check: ReadyCheck): Promise<void> {
  const deadline = Date.now() + check.timeoutMs;
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    for (const c of check.processes()) {
      if (!c.running) throw new Error(`demo mesh: ${c.name} exited during ${check.what}`);
    }
    try {
      const st = await control.status();
      const endpoints = (service: string) => new Set((st.services[service] ?? []).map((e) => e.instance));
      const connected = new Set(st.proxies.filter((p) => p.connected).map((p) => p.proxy));
      const missing = check.up.filter((i) => !connected.has(i.id) || (i.inbound && !endpoints(i.service).has(i.id))).map((i) => i.id);
      const lingering = (check.gone ?? []).filter((i) => connected.has(i.id) || endpoints(i.service).has(i.id)).map((i) => i.id);
      const unacked = st.proxies.filter((p) => p.connected && p.acked_version < p.sent_version).map((p) => p.proxy);
      last = `instances not registered [${missing.join(', ')}], still registered [${lingering.join(', ')}], sidecars without ACK [${unacked.join(', ')}]`;
      if (missing.length === 0 && lingering.length === 0 && unacked.length === 0) {
        if (!check.frontDoor || await canConnect(check.frontDoor)) return;
        last = 'front door not accepting connections';
      }
    } catch (e) {
      last = `control plane: ${(e as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`demo mesh: ${check.what} not done after ${check.timeoutMs} ms: ${last}`);
}

function canConnect(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname, () => { sock.destroy(); resolve(true); });
    sock.on('error', () => resolve(false));
  });
}
