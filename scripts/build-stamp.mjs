// Whether dist/ is current: dist/build-stamp.json (written last by
// ./build.mjs) lists every source that went into the build with its mtime
// and size, and dist/ counts as current while every one of them still has
// both. A stat per source (~300, about a millisecond in all) instead of
// reading them: bin/meshlens.js asks at every start. An edit, a checkout or
// a deleted file changes what stat says; an edit that keeps both to the
// millisecond is not a thing editors or git do.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP_FILE = 'build-stamp.json';

/** [mtimeMs, size] of a source, as the stamp keeps it. */
export function stampEntry(path) {
  const s = statSync(path);
  return [s.mtimeMs, s.size];
}

/** `{ stale: null, built }` when `outdir` holds a build of the sources under `root` as they are now; else `stale` says why. */
export function checkStamp(root, outdir) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(outdir, STAMP_FILE), 'utf8'));
  } catch {
    return { stale: 'not built (npm run build)' };
  }
  for (const [file, [mtimeMs, size]] of Object.entries(stamp.inputs)) {
    const s = statSync(join(root, file), { throwIfNoEntry: false });
    if (!s) return { stale: `${file} is gone since the build` };
    if (s.mtimeMs !== mtimeMs || s.size !== size) return { stale: `${file} changed since the build` };
  }
  return { stale: null, built: stamp.built };
}
