// An open-loop HTTP/1.1 load generator: requests are due at a constant rate
// (request i at start + i/rate) whatever the server does, and each latency
// counts from the request's *intended* send time, not from when it went out.
// A server that stalls therefore shows the stall in every request scheduled
// during it (they queue behind it), not in the one request it held: the
// coordinated-omission correction of wrk2 and of the Linkerd benchmarks.
//
// Why our own: wrk (closed loop) slows down with the server it measures;
// wrk2 is not packaged for Debian; autocannon, the maintained npm tool, can
// cap its rate but still times each request from its actual send, so a stall
// is one slow request and the queue behind it is invisible.
//
// How: a pool of `connections` keep-alive sockets opened before the clock
// starts, one request per connection at a time (no pipelining). A request
// due when every connection is busy waits in a FIFO, and the wait is part of
// its latency. A connection the server closes is reopened for the next
// request (the connect is then part of that request's latency). Latencies
// go to an HDR-style histogram (./histogram.ts, µs). The generator also
// reports how late its timer found each request due (timer lag: a timer's
// granularity on an idle machine, more when the machine is busy; part of
// every latency) and its own CPU, so a reader can tell the generator's share
// from the server's.
//
//   npm run bench:open-loop -- --port 8080 [--rate 1000] [--seconds 10]
//     [--connections 16] [--authority upstream] [--path /] [--drain-ms 5000] [--json]
// (`npm run bench:proxy` runs it this way, one process per run, --json.)

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Histogram, type HistogramJson } from './histogram.ts';
import { ResponseReader } from './http1-response.ts';
import { numberArg, stringArg } from './args.ts';

export interface OpenLoopOptions {
  port: number;
  host?: string;
  /** Host header; default `host:port`. */
  authority?: string;
  path?: string;
  /** Requests per second, spaced evenly. */
  rate: number;
  seconds: number;
  connections: number;
  /** After the last request is due, how long those queued or in flight may still take before they count as `unfinished`. */
  drainMs?: number;
}

export interface OpenLoopResult {
  scheduled: number;
  /** Responses received (any status). */
  completed: number;
  /** Failed requests by kind: `status 503`, `ECONNRESET`, `closed`, `unfinished`, … */
  errors: Record<string, number>;
  /** From intended send to the response's last byte, µs, every completed request. */
  latency: Histogram;
  /** From a request's intended send time to when the generator's timer found it due, µs: the generator's own lateness. */
  timerLag: Histogram;
  /** Completed requests per second, from the first due time to the last response. */
  achievedRate: number;
  /** Most requests waiting for a free connection at once. */
  maxQueued: number;
  connectionsOpened: number;
  /** This process's CPU time (user + system) during the run, ms, and as % of one core. */
  cpuMs: number;
  cpuPercent: number;
}

interface Conn { socket: net.Socket | null; reader: ResponseReader; intended: number }

export async function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const host = o.host ?? '127.0.0.1';
  const request = Buffer.from(`GET ${o.path ?? '/'} HTTP/1.1\r\nHost: ${o.authority ?? `${host}:${o.port}`}\r\n\r\n`);
  const total = Math.round(o.rate * o.seconds);
  const interval = 1000 / o.rate;
  const latency = new Histogram();
  const timerLag = new Histogram();
  const errors: Record<string, number> = {};
  const fail = (kind: string) => { errors[kind] = (errors[kind] ?? 0) + 1; };
  let completed = 0;
  let connectionsOpened = 0;
  let lastDone = 0;

  const idle: Conn[] = [];
  // Intended send times of requests waiting for a connection, FIFO (`head` moves instead of shift()).
  const queue: number[] = [];
  let head = 0;
  let maxQueued = 0;
  let inFlight = 0;
  let scheduled = 0;
  let finish = () => {};

  const open = (c: Conn) => new Promise<void>((resolve) => {
    const s = net.connect(o.port, host);
    connectionsOpened++;
    s.setNoDelay(true);
    c.socket = s;
    c.reader = new ResponseReader();
    s.once('connect', () => resolve());
    s.on('data', (chunk: Buffer) => {
      let ends;
      try {
        ends = c.reader.feed(chunk);
      } catch (e) {
        return void drop(c, s, `bad response: ${(e as Error).message}`);
      }
      for (const end of ends) {
        const now = performance.now();
        latency.record((now - c.intended) * 1000);
        completed++;
        inFlight--;
        lastDone = now;
        c.intended = -1;
        if (end.status < 200 || end.status > 299) fail(`status ${end.status}`);
        if (end.close) { s.destroy(); c.socket = null; }
        idle.push(c);
      }
      if (ends.length) dispatch();
    });
    s.on('error', (e: NodeJS.ErrnoException) => { drop(c, s, e.code ?? e.message); resolve(); });
    s.on('close', () => drop(c, s, 'closed'));
  });

  /** The connection is gone: its request (if any) failed; the slot reopens on next use. */
  const drop = (c: Conn, s: net.Socket, why: string) => {
    if (c.socket !== s) return; // already replaced
    s.destroy();
    c.socket = null;
    if (c.intended >= 0) {
      fail(why);
      inFlight--;
      c.intended = -1;
      idle.push(c);
      dispatch();
    }
  };

  const send = (c: Conn, intended: number) => {
    c.intended = intended;
    inFlight++;
    if (!c.socket) void open(c); // writes before the connect are queued by the socket
    c.socket!.write(request);
  };

  const dispatch = () => {
    while (head < queue.length && idle.length > 0) send(idle.pop()!, queue[head++]);
    if (head > 4096 && head === queue.length) { queue.length = 0; head = 0; }
    if (scheduled === total && head === queue.length && inFlight === 0) finish();
  };

  const pool: Conn[] = Array.from({ length: o.connections }, () => ({ socket: null, reader: new ResponseReader(), intended: -1 }));
  await Promise.all(pool.map(open));
  idle.push(...pool);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 1;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    for (let due = t0 + scheduled * interval; scheduled < total && due <= now; due = t0 + ++scheduled * interval) {
      timerLag.record((now - due) * 1000);
      queue.push(due);
    }
    maxQueued = Math.max(maxQueued, queue.length - head);
    dispatch();
    if (scheduled < total) timer = setTimeout(tick, Math.max(0, t0 + scheduled * interval - performance.now()));
  };
  const done = new Promise<void>((resolve) => { finish = resolve; });
  tick();
  // Requests still queued or in flight `drainMs` after the last one was due count as unfinished.
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => { drainTimer = setTimeout(resolve, o.seconds * 1000 + (o.drainMs ?? 5000)); })]);
  clearTimeout(drainTimer);
  clearTimeout(timer);
  const unfinished = inFlight + (queue.length - head);
  if (unfinished > 0) errors.unfinished = unfinished;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const elapsed = Math.max(lastDone, performance.now()) - t0;
  for (const c of pool) { const s = c.socket; c.socket = null; s?.destroy(); }
  return {
    scheduled: total, completed, errors, latency, timerLag, maxQueued, connectionsOpened,
    achievedRate: completed / ((lastDone - t0) / 1000 || 1),
    cpuMs, cpuPercent: (100 * cpuMs) / elapsed,
  };
}

/** The result as JSON (histograms as theirs), for a parent process; and back. */
export type OpenLoopJson = Omit<OpenLoopResult, 'latency' | 'timerLag'> & { latency: HistogramJson; timerLag: HistogramJson };
export const openLoopToJson = (r: OpenLoopResult): OpenLoopJson => ({ ...r, latency: r.latency.toJSON(), timerLag: r.timerLag.toJSON() });
export const openLoopFromJson = (j: OpenLoopJson): OpenLoopResult => ({ ...j, latency: Histogram.fromJSON(j.latency), timerLag: Histogram.fromJSON(j.timerLag) });

const ms = (us: number) => (us / 1000).toFixed(3);

/** One line: percentiles in ms, rate, errors, the generator's CPU. */
export function describeOpenLoop(r: OpenLoopResult): string {
  const l = r.latency;
  const errs = Object.entries(r.errors).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
  return `${r.completed}/${r.scheduled} at ${r.achievedRate.toFixed(0)} req/s; latency ms p50 ${ms(l.percentile(50))} p90 ${ms(l.percentile(90))} ` +
    `p99 ${ms(l.percentile(99))} p99.9 ${ms(l.percentile(99.9))} max ${ms(l.max)}; errors ${errs}; timer lag p99 ${ms(r.timerLag.percentile(99))} ms; ` +
    `generator CPU ${r.cpuPercent.toFixed(1)}% of a core`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runOpenLoop({
    port: numberArg('port', 0), host: stringArg('host', '127.0.0.1'), authority: stringArg('authority', '') || undefined,
    path: stringArg('path', '/'), rate: numberArg('rate', 1000), seconds: numberArg('seconds', 10),
    connections: numberArg('connections', 16), drainMs: numberArg('drain-ms', 5000),
  });
  console.log(process.argv.includes('--json') ? JSON.stringify(openLoopToJson(r)) : describeOpenLoop(r));
  process.exit(0);
}
