// A real ZooKeeper for tests: Debian's package (3.8), one standalone server
// in its own temp directory on a free 127.0.0.1 client port, the admin
// server off. Started with java directly (the package's scripts want
// /etc/zookeeper and /var/log/zookeeper); the jar's manifest names its
// classpath. slf4j finds no binding there, so the server logs nothing and
// a failed start is told by the exit code and stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './clickhouse-server.ts';

export const ZOOKEEPER_JAR = process.env.MESHLENS_ZOOKEEPER_JAR ?? '/usr/share/java/zookeeper.jar';

export interface TestZooKeeper {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Starts the server again on the same directory and port; resolves when it answers `srvr`. */
  start(): Promise<void>;
  /** SIGKILL; resolves when the process is gone (its snapshot and log stay in dir). */
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): sessions stay open, nothing answers. */
  pause(): void;
  resume(): void;
  /** stop() and delete the directory. */
  close(): Promise<void>;
}

/** The four-letter `srvr` command: true when the server says it is serving. */
function srvr(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let body = '';
    sock.setTimeout(1_000, () => sock.destroy());
    sock.on('connect', () => sock.write('srvr'));
    sock.on('data', (d) => { body += d; });
    sock.on('close', () => resolve(/Mode: standalone/.test(body)));
    sock.on('error', () => resolve(false));
  });
}

/** Starts a standalone ZooKeeper in a new temp directory; throws naming the apt-get command if it is not installed. */
export async function startTestZooKeeper(opts: { startTimeoutMs?: number } = {}): Promise<TestZooKeeper> {
  if (!existsSync(ZOOKEEPER_JAR)) {
    throw new Error(`zookeeper not found at ${ZOOKEEPER_JAR}: install it with 'apt-get install -y --no-install-recommends zookeeper' `
      + '(npm test does this when run as root), or point MESHLENS_ZOOKEEPER_JAR at the jar');
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-zookeeper-'));
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  // Short ticks: sessions of 1.5..20 s (ClickHouse asks for its own within them).
  writeFileSync(join(dir, 'zoo.cfg'), [
    'tickTime=500', `dataDir=${dir}/data`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1',
    'admin.enableServer=false', 'maxSessionTimeout=60000', '4lw.commands.whitelist=srvr,ruok', '',
  ].join('\n'));
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const killOnExit = () => child?.kill('SIGKILL');
  const logTail = () => {
    const f = join(dir, 'stdout.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).slice(-8).join('\n') : '';
  };

  async function start(): Promise<void> {
    if (child) return;
    const out = openSync(join(dir, 'stdout.log'), 'a');
    const proc = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', '-cp', ZOOKEEPER_JAR, 'org.apache.zookeeper.server.ZooKeeperServerMain', join(dir, 'zoo.cfg')],
      { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    let gone = false;
    exited = new Promise((resolve) => proc.once('exit', () => { gone = true; if (child === proc) child = null; resolve(); }));
    proc.once('error', () => { gone = true; });
    process.once('exit', killOnExit);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (gone) throw new Error(`zookeeper exited during start in ${dir}:\n${logTail()}`);
      if (await srvr(port)) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`zookeeper did not answer srvr on 127.0.0.1:${port} within ${timeoutMs} ms (dir ${dir}):\n${logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    process.removeListener('exit', killOnExit);
    proc.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    host: '127.0.0.1', port, dir, start, stop,
    pause() { child?.kill('SIGSTOP'); },
    resume() { child?.kill('SIGCONT'); },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
