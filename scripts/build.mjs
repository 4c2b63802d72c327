#!/usr/bin/env node
// `npm run build` (and `npm install`, through `prepare`): compiles the
// `meshlens` command into dist/ so that no production process transpiles
// TypeScript when it starts (bin/meshlens.js runs dist/ when it is current).
//
//   node scripts/build.mjs                 build into dist/
//   node scripts/build.mjs --if-stale      only when dist/ is not current
//
// esbuild (tsx's own, so nothing new is installed) bundles cli/main.ts with
// code splitting: each command's `import()` in cli/main.ts becomes its own
// chunk, so `meshlens sidecar` loads the proxy's code and not the control
// plane's, from a handful of files instead of ~150. Packages stay external
// (node_modules is loaded as installed). Every output file sits directly in
// dist/, one level below the repository, which the import.meta rewrite below
// relies on.
//
// dist/build-stamp.json, written last, lists every source that went in with
// its mtime and size; bin/meshlens.js runs dist/ only while all of them still
// match (./build-stamp.mjs), so an edited source is never run stale.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkStamp, STAMP_FILE, stampEntry } from './build-stamp.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Not bundled but shaping the output: a change to either rebuilds. */
const BUILD_INPUTS = ['scripts/build.mjs', 'tsconfig.json'];
/** An earlier build's chunk that no current build names is removed once this old: a process started from it may still import() it. */
const PRUNE_AFTER_MS = 24 * 3600_000;

const outdir = join(ROOT, 'dist');

if (process.argv.includes('--if-stale')) {
  const { stale } = checkStamp(ROOT, outdir);
  if (!stale) process.exit(0);
}

// tsx depends on esbuild; resolve it from there, where npm put it.
const esbuild = createRequire(createRequire(join(ROOT, 'package.json')).resolve('tsx'))('esbuild');

// Sources find their assets through import.meta (policy packs, the UI's
// files, bin/meshlens.js for child processes). Bundled, import.meta would be
// the chunk's in dist/, so each source's own is rewritten to its place in
// the tree, relative to dist/ (hence no absolute path: the checkout can move).
const importMetaOfSource = {
  name: 'import-meta-of-source',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const rel = relative(ROOT, args.path).split('\\').join('/');
      const fileUrl = `new URL(${JSON.stringify(`../${rel}`)}, import.meta.url)`;
      const dirUrl = `new URL(${JSON.stringify(`../${dirname(rel)}/`)}, import.meta.url)`;
      const contents = text
        .replace(/\bimport\.meta\.url\b/g, `${fileUrl}.href`)
        .replace(/\bimport\.meta\.filename\b/g, `decodeURIComponent(${fileUrl}.pathname)`)
        .replace(/\bimport\.meta\.dirname\b/g, `decodeURIComponent(${dirUrl}.pathname).replace(/\\/$/, '')`);
      return { contents, loader: 'ts' };
    });
  },
};

const started = Date.now();
mkdirSync(outdir, { recursive: true });
// No stamp while files change: a process starting meanwhile runs the TypeScript.
rmSync(join(outdir, STAMP_FILE), { force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'cli/main.ts' },
  outdir,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked', // used with NODE_OPTIONS=--enable-source-maps; off by default, it costs start-up time
  metafile: true,
  write: false,
  logLevel: 'warning',
  plugins: [importMetaOfSource],
}).catch(() => {
  // esbuild has printed the errors; without a stamp, bin/meshlens.js runs the TypeScript meanwhile.
  console.error('meshlens build: failed (above); `meshlens` runs the TypeScript through tsx until a build succeeds');
  process.exit(1);
});

// Each file replaced by a rename, so a process starting now reads an old or a new file, never half of one.
const written = new Set();
for (const f of result.outputFiles) {
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
  written.add(f.path);
}
for (const name of readdirSync(outdir)) {
  const p = join(outdir, name);
  if (!written.has(p) && name !== STAMP_FILE && Date.now() - statSync(p).mtimeMs > PRUNE_AFTER_MS) rmSync(p, { force: true });
}

const inputs = {};
for (const file of [...Object.keys(result.metafile.inputs), ...BUILD_INPUTS]) inputs[file] = stampEntry(join(ROOT, file));
const stamp = join(outdir, STAMP_FILE);
writeFileSync(`${stamp}.tmp`, JSON.stringify({ built: new Date().toISOString(), inputs }));
renameSync(`${stamp}.tmp`, stamp);
const bytes = result.outputFiles.filter((f) => f.path.endsWith('.js')).reduce((n, f) => n + f.contents.length, 0);
console.error(`meshlens build: ${Object.keys(inputs).length} sources → dist/ (${(bytes / 1024).toFixed(0)} KiB of JavaScript) in ${Date.now() - started} ms`);
