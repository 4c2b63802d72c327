// What the browser loads besides the API: the page itself (ui/public/), d3
// from node_modules, and /graph.js, the layout and formatting code of
// ui/graph/ bundled by esbuild at start. Bundling at start (about 20 ms)
// means the browser runs the very TypeScript the unit tests check, with no
// build step and no second copy in plain JS. esbuild comes with tsx, which
// meshlens already runs on.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import express, { Router } from 'express';

const here = dirname(fileURLToPath(import.meta.url));
export const PUBLIC_DIR = join(here, 'public');
const GRAPH_ENTRY = join(here, 'graph', 'index.ts');

/** d3's package exports hide package.json, so resolve its ESM entry and take the UMD file beside it. */
export function d3BundlePath(): string {
  return join(dirname(createRequire(import.meta.url).resolve('d3')), 'd3.min.js');
}

export async function bundleGraphModule(): Promise<string> {
  const out = await build({
    entryPoints: [GRAPH_ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2020',
    write: false, logLevel: 'silent', legalComments: 'none',
  });
  return out.outputFiles[0].text;
}

export async function assetRouter(): Promise<Router> {
  let graphJs: string;
  try {
    graphJs = await bundleGraphModule();
  } catch (e) {
    throw new Error(`ui: bundling ${GRAPH_ENTRY} for the browser failed: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  const d3Path = d3BundlePath();
  const assets = Router();
  assets.get('/graph.js', (_req, res) => {
    res.type('text/javascript').set('cache-control', 'no-cache').send(graphJs);
  });
  assets.get('/vendor/d3.min.js', (_req, res, next) => {
    res.sendFile(d3Path, { maxAge: '1d' }, (err) => err && next(err));
  });
  assets.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  return assets;
}
