// One demo workload: a small HTTP server that does some work and calls its
// downstream services through its sidecar's outbound listener in HTTP proxy
// mode (absolute-form request target, as any HTTP_PROXY client sends). A
// background job (DemoService.background_rps) calls them on a timer instead
// (./background-job.ts).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBackgroundJob } from './background-job.ts';
import { callService } from './outbound-call.ts';
import type { FaultEffect } from './faults.ts';
import type { DemoService } from './topology.ts';

export interface WorkloadOptions {
  service: DemoService;
  host?: string;
  port?: number;
  /** The sidecar's outbound listener, "http://127.0.0.1:PORT". */
  httpProxy: string;
  random?: () => number;
  /** Scheduled faults in effect now (none when absent). */
  fault?: () => FaultEffect;
  /** Clock for a background job's timer, ms (tests drive it). Default Date.now. */
  now?: () => number;
}

export interface Workload {
  url: string;
  served(): number;
  /** Calls a background job made, by status (0: no answer); {} for other workloads. */
  called(): Record<number, number>;
  close(): Promise<void>;
}

export async function startWorkload(opts: WorkloadOptions): Promise<Workload> {
  const rnd = opts.random ?? Math.random;
  const proxy = new URL(opts.httpProxy);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const svc = opts.service;
  let served = 0;

  const server = http.createServer(async (req, res) => {
    req.resume();
    const fault = opts.fault?.();
    if (fault?.reset) { req.socket.resetAndDestroy(); return; }
    const traceparent = req.headers.traceparent;
    let status = 200;
    try {
      await sleep(serviceTime(svc, rnd) + (fault?.extra_ms ?? 0));
      for (const callee of svc.calls) {
        const s = await callService(agent, proxy, callee, req.url ?? '/', traceparent);
        if (s >= 500 || s === 0) status = 502;
      }
      if (rnd() < svc.error_rate + (fault?.error_rate ?? 0)) status = 500;
    } catch {
      status = 502;
    }
    served += 1;
    const body = JSON.stringify({ service: svc.name, status, ...(fault?.extra_bytes ? { payload: 'x'.repeat(fault.extra_bytes) } : {}) });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const job = svc.background_rps ? startBackgroundJob({
    calls: svc.calls, httpProxy: opts.httpProxy, rps: svc.background_rps, now: opts.now,
    rateMultiplier: () => opts.fault?.().rate_multiplier ?? 1,
  }) : null;
  return {
    url: `http://${address}:${port}`,
    served: () => served,
    called: () => job?.stats().by_status ?? {},
    close: async () => {
      await job?.stop();
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function serviceTime(svc: DemoService, rnd: () => number): number {
  if (svc.work_ms <= 0) return 0;
  // Log-normal with sigma 0.5 around the median: a realistic right tail.
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return svc.work_ms * Math.exp(0.5 * z) + (rnd() < svc.slow_rate ? svc.slow_ms : 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
