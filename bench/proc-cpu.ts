// CPU time of another process (all its threads) from /proc, for benches
// that put a figure on a peer they did not start in-process.

import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of a process from /proc/<pid>/stat, in ms (clock ticks of 10 ms). */
export function procCpuMs(pid: number, file = `/proc/${pid}/stat`): number {
  const st = readFileSync(file, 'utf8');
  const f = st.slice(st.lastIndexOf(') ') + 2).split(' '); // after "pid (comm) ", which may hold spaces
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * CPU of a process split by thread, in ms: its main thread (JavaScript;
 * the tid that equals the pid) and all the others (libuv's pool: gunzip,
 * chdb's inserts; V8's GC helpers; an embedded engine's own threads).
 */
export function threadCpuMs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ms = 0;
    try { ms = procCpuMs(Number(tid), `/proc/${pid}/task/${tid}/stat`); } catch { continue; } // the thread ended
    if (tid === String(pid)) main += ms;
    else others += ms;
  }
  return { main, others };
}

/** The pid of the process whose command line mentions `text` (a peer's own directory), or null. */
export function pidOf(text: string): number | null {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) return Number(p); } catch { /* gone */ }
  }
  return null;
}
