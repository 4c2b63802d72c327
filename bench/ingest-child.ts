// A child process of the ingest bench (./ingest.ts, ./ingest-drain.ts): a
// bench script run through tsx with a JSON config as argv[2], and a queue
// of the IPC messages it sent.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// MESHLENS_BENCH_CPU_PROF=<dir>: the backend processes (collector + store)
// write V8 CPU profiles there, for chrome://inspect or `node --cpu-prof` tools.
const profDir = process.env.MESHLENS_BENCH_CPU_PROF;
// MESHLENS_BENCH_BACKEND_FLAGS="--flag …": extra node flags for the backend processes (experiments).
const backendFlags = (process.env.MESHLENS_BENCH_BACKEND_FLAGS ?? '').split(' ').filter(Boolean);

export interface BenchChild {
  proc: ChildProcess;
  /** The next message that has `key` set (in order of arrival); throws if the child exits first. */
  next<T = Record<string, unknown>>(key: string): Promise<T>;
  go(): void;
  exited: Promise<number | null>;
}

/** `script` relative to bench/. */
export function child(script: string, config: object): BenchChild {
  const backend = script.includes('backend');
  const prof = [...(backend ? backendFlags : []), ...(profDir && backend ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  const path = fileURLToPath(new URL(script, import.meta.url));
  const proc: ChildProcess = fork(path, [JSON.stringify(config)], { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m) => { inbox.push(m as Record<string, unknown>); waiters.splice(0).forEach((w) => w()); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => { r(code); waiters.splice(0).forEach((w) => w()); }));
  let gone = false;
  void exited.then(() => { gone = true; });
  return {
    proc,
    async next<T = Record<string, unknown>>(key: string): Promise<T> {
      for (;;) {
        const i = inbox.findIndex((m) => m[key]);
        if (i >= 0) return inbox.splice(i, 1)[0] as T;
        if (gone) throw new Error(`${script} exited before sending ${key}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    go: () => proc.send({ go: true }),
    exited,
  };
}
