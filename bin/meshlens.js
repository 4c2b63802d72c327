#!/usr/bin/env node
// Entry point for the `meshlens` command. Runs the compiled build (dist/,
// `npm run build`, which `npm install` runs) when it is current, else the
// TypeScript through tsx, so an edited source is never run stale.
//   MESHLENS_RUN=auto (default) | dist (refuse to start without a current build) | tsx
//   MESHLENS_RUN_LOG=1          say on stderr which one runs, and why
import { fileURLToPath } from 'node:url';
import { checkStamp } from '../scripts/build-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const want = process.env.MESHLENS_RUN || 'auto';
if (!['auto', 'dist', 'tsx'].includes(want)) {
  console.error(`meshlens: MESHLENS_RUN=${want}: expected auto, dist or tsx`);
  process.exit(2);
}
const build = want === 'tsx' ? { stale: 'MESHLENS_RUN=tsx' } : checkStamp(root, `${root}dist`);
const say = process.env.MESHLENS_RUN_LOG === '1' ? (line) => process.stderr.write(`meshlens: ${line}\n`) : () => {};
if (build.stale === null) {
  say(`running dist/ (built ${build.built})`);
  await import('../dist/main.js');
} else if (want === 'dist') {
  console.error(`meshlens: MESHLENS_RUN=dist but dist/ is not current: ${build.stale}; run npm run build`);
  process.exit(1);
} else {
  say(`running the TypeScript through tsx (dist/: ${build.stale})`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
