// The spool directory, `<state-dir>/spool/`, and who may use it. One
// sidecar process at a time: a second one would read the first one's live
// spool as a crashed stream and send it twice. A lock file holds the
// owner's pid; a lock whose process is gone (the crash the spool is for) is
// taken over. (The state dir may later hold the sidecar's identity too:
// only spool/ is created here, mode 0700.)

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPOOL_SUFFIX } from './tap-spool-format.ts';

export interface SpoolDir {
  readonly path: string;
  /** Spool files earlier processes left (streams to recover), in name order. */
  readonly left: string[];
  /** Removes the lock. */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `<stateDir>/spool`, takes its lock and lists the spools left in it; throws when another live process holds it. */
export function openSpoolDir(stateDir: string, pid = process.pid): SpoolDir {
  const path = join(stateDir, 'spool');
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const lock = join(path, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, `${pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)) {
        throw new Error(`tap spool ${path} is in use by process ${owner} (one sidecar per --state-dir)`);
      }
      rmSync(lock, { force: true }); // its owner is gone
    }
  }
  const names = readdirSync(path);
  // A compaction that did not reach its rename: the file it was replacing is still whole.
  for (const n of names) if (n.endsWith(`${SPOOL_SUFFIX}.tmp`)) rmSync(join(path, n), { force: true });
  return {
    path,
    left: names.filter((n) => n.endsWith(SPOOL_SUFFIX)).sort().map((n) => join(path, n)),
    release: () => rmSync(lock, { force: true }),
  };
}
