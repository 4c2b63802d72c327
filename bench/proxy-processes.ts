// The processes a bench starts, and how it stops them: at the end a sidecar
// or control plane gets SIGTERM and time to flush (its last stdout lines say
// what it did), everything else is killed, and nothing outlives the bench.

import { spawn, type ChildProcess } from 'node:child_process';

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Its stdout lines so far, when started with `capture`. */
  lines: string[];
  /** Resolves when it has exited. */
  exited: Promise<void>;
}

export class Processes {
  readonly #all: { proc: Proc; stop: NodeJS.Signals }[] = [];

  /**
   * Starts `cmd`; stderr goes to the bench's. `stop`: the signal that ends it
   * at cleanup (nginx's master stops its workers on SIGTERM; SIGKILLed, it
   * would leave them running).
   */
  start(name: string, cmd: string, args: string[], o: { stop?: NodeJS.Signals; capture?: boolean; env?: NodeJS.ProcessEnv } = {}): Proc {
    const child = spawn(cmd, args, { stdio: ['ignore', o.capture ? 'pipe' : 'ignore', 'inherit'], env: o.env ? { ...process.env, ...o.env } : process.env });
    const lines: string[] = [];
    if (o.capture) {
      let partial = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        const parts = (partial + s).split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
      });
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
    const proc: Proc = { name, pid: child.pid, child, lines, exited };
    this.#all.push({ proc, stop: o.stop ?? 'SIGKILL' });
    return proc;
  }

  /** Resolves with the first stdout line matching `re` (a `capture` process), or throws after `timeoutMs` or at its exit. */
  async waitForLine(p: Proc, re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void p.exited.then(() => { gone = true; });
    for (;;) {
      for (const l of p.lines) { const m = re.exec(l); if (m) return m; }
      if (gone || Date.now() > deadline) {
        throw new Error(`${p.name} ${gone ? 'exited' : `said nothing matching ${re} in ${timeoutMs / 1000} s`}; its output:\n${p.lines.slice(-20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then up to `timeoutMs` for it to exit (SIGKILL after). True if it exited by itself. */
  async stop(p: Proc, timeoutMs = 30_000): Promise<boolean> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return true;
    p.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), timeoutMs); })]);
    clearTimeout(timer);
    if (!inTime) p.child.kill('SIGKILL');
    return inTime;
  }

  /** Ends every process still running, each with its own signal. */
  killAll(): void {
    for (const { proc, stop } of this.#all) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(stop);
  }
}

/** Runs a command to its end; its stdout (and its exit code). */
export function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout }));
  });
}
