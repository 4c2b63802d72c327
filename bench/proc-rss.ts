// Memory of another process from /proc, for benches that put a figure on a
// peer they did not start in-process (and on its children: nginx's workers).

import { readdirSync, readFileSync } from 'node:fs';

/** VmRSS of a process from /proc/<pid>/status, in KiB; 0 once it is gone. */
export function procRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pids whose parent is `pid` (nginx's master → its workers). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the command (which may hold spaces and parentheses): state, ppid, …
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return out;
}
