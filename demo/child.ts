// A supervised child process running a `meshlens` subcommand: output lines
// are prefixed and forwarded to a log function, stop() sends SIGTERM and
// escalates to SIGKILL after a deadline. Children exit when their stdin
// closes (MESHLENS_EXIT_WITH_PARENT), so a killed parent leaves no orphans.
// A child that exits without stop() having been called ended unexpectedly;
// ./supervisor.ts restarts such children. A child given a network
// namespace runs as `ip netns exec <netns> node …` (ip execs node in place, so
// signals reach node itself).

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { IP_BIN } from './netns.ts';

const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));

export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** How it ended: exit code, or the signal that ended it. */
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stopRequested = false;

  constructor(readonly name: string, args: string[], log: (line: string) => void, env: NodeJS.ProcessEnv = {}, where: { netns?: string } = {}) {
    const [cmd, argv] = where.netns
      ? [IP_BIN, ['netns', 'exec', where.netns, process.execPath, BIN, ...args]]
      : [process.execPath, [BIN, ...args]];
    this.proc = spawn(cmd, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env, MESHLENS_EXIT_WITH_PARENT: '1' },
      // A process group of its own: a terminal's Ctrl-C reaches only the parent, which stops
      // its children in order; a child that also got it would take the parent's SIGTERM as a
      // second signal and exit at once, unflushed.
      detached: true,
    });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          log(`[${name}] ${buf.slice(0, nl)}`);
          buf = buf.slice(nl + 1);
        }
      });
    }
    this.ended = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited = this.ended.then((e) => e.code);
  }

  /** True once stop() was called: an exit after it is expected. */
  get stopRequested(): boolean { return this.#stopRequested; }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.proc.kill(signal);
  }

  async stop(deadlineMs = 5_000): Promise<void> {
    this.#stopRequested = true;
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), deadlineMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** `n` distinct free TCP ports on 127.0.0.1 (held open together so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
