// A real clickhouse-server for tests: its own temp directory, free ports on
// 127.0.0.1, a default user without password. stop() and start() keep the
// directory and ports, so fault tests can take the server away and bring
// the same data back. Debian's package (18.16) is what the suite runs on.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLICKHOUSE_SERVER_BIN = process.env.MESHLENS_CLICKHOUSE_SERVER ?? '/usr/sbin/clickhouse-server';

export interface TestClickHouseServer {
  /** HTTP URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dir: string;
  /** Starts the server again on the same directory and ports; resolves when /ping answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10000); resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, as a crash; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections are accepted by the kernel, nothing answers. */
  pause(): void;
  resume(): void;
  /** stop() and delete the directory. */
  close(): Promise<void>;
}

export interface TestClickHouseServerOptions {
  bin?: string;
  /** How long start() waits for /ping (default 20 s). */
  startTimeoutMs?: number;
  /** Ports to listen on (a cluster names them in every node's config before any starts); free ones when absent. */
  httpPort?: number;
  tcpPort?: number;
  /** XML elements added inside <yandex> (remote_servers, macros, zookeeper …). */
  extraConfig?: string;
}

/** A port nobody listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** GET /ping on a fresh connection (a kept-alive one would delay the server's shutdown). */
function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${url}/ping`, { agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve(res.statusCode === 200 && body.startsWith('Ok')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function configXml(dir: string, httpPort: number, tcpPort: number, extra = ''): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <!-- shutdown waits for idle keep-alive connections: keep them short -->
  <keep_alive_timeout>1</keep_alive_timeout>
${extra}</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`;

/** Starts a clickhouse-server in a new temp directory; throws naming the apt-get command if it is not installed. */
export async function startTestClickHouseServer(opts: TestClickHouseServerOptions = {}): Promise<TestClickHouseServer> {
  const bin = opts.bin ?? CLICKHOUSE_SERVER_BIN;
  if (!existsSync(bin)) {
    throw new Error(`clickhouse-server not found at ${bin}: install it with 'apt-get install -y clickhouse-server' `
      + '(npm test does this when run as root), or point MESHLENS_CLICKHOUSE_SERVER at the binary');
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-clickhouse-'));
  for (const d of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(dir, d));
  const httpPort = opts.httpPort ?? await freePort();
  const tcpPort = opts.tcpPort ?? await freePort();
  writeFileSync(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort, opts.extraConfig));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  const url = `http://127.0.0.1:${httpPort}`;
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const killOnExit = () => child?.kill('SIGKILL');

  const logTail = () => {
    const p = join(dir, 'log', 'server.err.log');
    const out = join(dir, 'log', 'stdout.log');
    const text = [p, out].filter(existsSync).map((f) => readFileSync(f, 'utf8')).join('\n');
    return text.split('\n').filter(Boolean).slice(-8).join('\n');
  };

  async function start(): Promise<void> {
    if (child) return;
    const out = openSync(join(dir, 'log', 'stdout.log'), 'a');
    const proc = spawn(bin, [`--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    let gone = false;
    exited = new Promise((resolve) => proc.once('exit', () => { gone = true; if (child === proc) child = null; resolve(); }));
    process.once('exit', killOnExit);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (gone) throw new Error(`clickhouse-server (${bin}) exited during start in ${dir}:\n${logTail()}`);
      if (await ping(url)) return;
      if (Date.now() > deadline) {
        await stop(0);
        throw new Error(`clickhouse-server did not answer ${url}/ping within ${timeoutMs} ms (dir ${dir}):\n${logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function stop(graceMs = 10_000): Promise<void> {
    const proc = child;
    if (!proc) return;
    process.removeListener('exit', killOnExit);
    proc.kill('SIGTERM');
    proc.kill('SIGCONT'); // a paused server handles SIGTERM only once it runs again
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    url, httpPort, tcpPort, dir, start, stop,
    async kill() {
      const proc = child;
      if (!proc) return;
      process.removeListener('exit', killOnExit);
      proc.kill('SIGKILL');
      await exited;
    },
    pause() { child?.kill('SIGSTOP'); },
    resume() { child?.kill('SIGCONT'); },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
