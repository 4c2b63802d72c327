// CPU time of another process (all its threads) from /proc, for benches
// that put a figure on a peer they did not start in-process.

import { readFileSync } from 'node:fs';

/** utime + stime of a process from /proc/<pid>/stat, in ms (clock ticks of 10 ms). */
export function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
