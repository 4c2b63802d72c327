// The load drivers of `npm run bench:proxy`, each run as its own process so
// nothing in the bench's own process (its timers, pipes) can slow it:
// wrk (closed loop, HTTP/1.1), h2load (closed loop, HTTP/2 over h2c) and the
// open-loop generator (./open-loop.ts). Each returns what it completed, so
// the tap check can set requests served against taps stored.

import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Histogram } from './histogram.ts';
import { openLoopFromJson, type OpenLoopResult } from './open-loop.ts';
import { run } from './proxy-processes.ts';

export interface ClosedLoopRun {
  rps: number;
  p50: number;
  p99: number;
  /** Responses the driver counted. */
  requests: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** wrk -t1 for `seconds` with `connections`: requests/s and latency percentiles in ms. Throws on any error or non-2xx. */
export async function wrk(port: number, seconds: number, connections: number, host?: string): Promise<ClosedLoopRun> {
  const { stdout: out } = await run('/usr/bin/wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), `http://127.0.0.1:${port}/`]);
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out); // wrk pads "1.29s "
    if (!m) throw new Error(`wrk output without ${label}%: ${out}`);
    return Number(m[1]) * UNIT_MS[m[2]];
  };
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors on port ${port}:\n${out}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: ms('50'), p99: ms('99'), requests: Number(/(\d+) requests in/.exec(out)?.[1]) };
}

/**
 * h2load -t1 over h2c (prior knowledge) for `seconds`: `connections` × `streams`
 * requests in flight. Percentiles come from its per-request log (h2load
 * prints only min/max/mean). Throws on any failed request or non-2xx.
 */
export async function h2load(port: number, seconds: number, connections: number, streams: number, logFile: string): Promise<ClosedLoopRun> {
  const { stdout: out } = await run('/usr/bin/h2load', ['-t1', `-c${connections}`, `-m${streams}`, `-D${seconds}`, `--log-file=${logFile}`, `http://127.0.0.1:${port}/`]);
  const m = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const statuses = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!m || !statuses) throw new Error(`h2load output not understood (port ${port}):\n${out}`);
  // (Its 2xx count may include a response to a stream it had given up on as the duration ended.)
  if (Number(m[3]) + Number(m[4]) + Number(statuses[3]) + Number(statuses[4]) > 0) throw new Error(`h2load saw failures on port ${port}:\n${out}`);
  const h = new Histogram();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const f = line.split('\t');
    if (f.length >= 3) h.record(Number(f[2])); // µs until the end of the response
  }
  rmSync(logFile, { force: true });
  const finished = /finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/.exec(out);
  return { rps: Number(finished?.[3]), p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, requests: Number(m[2]) };
}

const OPEN_LOOP = fileURLToPath(new URL('./open-loop.ts', import.meta.url));

/** The open-loop generator in its own process: `rate` req/s for `seconds` over `connections` keep-alive connections. */
export async function openLoop(port: number, o: { rate: number; seconds: number; connections: number; authority?: string }): Promise<OpenLoopResult> {
  const { code, stdout } = await run(process.execPath, [
    '--import', 'tsx', OPEN_LOOP, '--json', '--port', String(port), '--rate', String(o.rate), '--seconds', String(o.seconds),
    '--connections', String(o.connections), ...(o.authority ? ['--authority', o.authority] : []),
  ]);
  if (code !== 0) throw new Error(`open-loop generator on port ${port} exited ${code}: ${stdout}`);
  return openLoopFromJson(JSON.parse(stdout.trim().split('\n').at(-1)!));
}

/**
 * Whether the server on `port` speaks HTTP/2 with prior knowledge: it
 * answers the client preface and an empty SETTINGS frame with a SETTINGS
 * frame (RFC 9113 §3.4), not an HTTP/1.1 error or a close, within 3 s.
 */
export function speaksH2c(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = (yes: boolean) => { clearTimeout(timer); s.destroy(); resolve(yes); };
    const timer = setTimeout(() => done(false), 3000);
    s.on('connect', () => s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])));
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length >= 9) done(got[3] === 0x04 && (got[4] & 0x01) === 0); // a SETTINGS frame, not an ACK
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}
