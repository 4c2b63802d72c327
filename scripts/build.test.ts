// The compiled build (scripts/build.mjs → dist/) and bin/meshlens.js's choice
// between it and the TypeScript: a current build runs, and serves; an edited
// source is never run from a build that predates it. Each test works on a
// copy of the sources (node_modules linked), so the checkout's own dist/ and
// its sources are left alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', '.meshlens', '.scratch', 'docs']);

function copyOfSources(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-build-'));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !NOT_COPIED.has(relative(ROOT, src).split('/')[0]) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `meshlens …` in `dir`, saying on stderr which code it runs. */
function meshlens(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [join(dir, 'bin/meshlens.js'), ...args], { env: { ...process.env, MESHLENS_RUN_LOG: '1', ...env } });
}

test('a sidecar started through bin/meshlens.js runs from a current build and serves a request through it', { timeout: 60_000 }, async () => {
  const copy = copyOfSources();
  const upstream = http.createServer((_req, res) => res.end('from upstream'));
  try {
    await run(process.execPath, [join(copy.dir, 'scripts/build.mjs')]);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const sidecar = spawn(process.execPath, [join(copy.dir, 'bin/meshlens.js'), 'sidecar', '--service', 'web', '--listen', '127.0.0.1:0',
      '--upstream', `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`], { env: { ...process.env, MESHLENS_RUN_LOG: '1' } });
    let stdout = '';
    let stderr = '';
    sidecar.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    sidecar.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exited = new Promise((r) => sidecar.once('exit', r));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const look = () => { const m = /sidecar: inbound 127\.0\.0\.1:(\d+)/.exec(stdout); if (m) resolve(Number(m[1])); };
        sidecar.stdout.on('data', look);
        void exited.then(() => reject(new Error(`the sidecar exited before listening:\n${stdout}${stderr}`)));
      });
      assert.match(stderr, /^meshlens: running dist\/ \(built /m, stderr);
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => resolve(`${res.statusCode} ${text}`));
        }).on('error', reject);
      });
      assert.equal(body, '200 from upstream');
    } finally {
      sidecar.kill('SIGTERM');
      await exited;
    }
  } finally {
    upstream.close();
    copy.remove();
  }
});

test('a source edited after the build runs as edited (through tsx), and MESHLENS_RUN=dist refuses the stale build', { timeout: 60_000 }, async () => {
  const copy = copyOfSources();
  try {
    await run(process.execPath, [join(copy.dir, 'scripts/build.mjs')]);
    const built = await meshlens(copy.dir, ['--help']);
    assert.match(built.stderr, /running dist\//);
    const summaries = join(copy.dir, 'cli/command-summaries.ts');
    writeFileSync(summaries, readFileSync(summaries, 'utf8').replace('Run a sidecar proxy', 'Run an edited sidecar proxy'));

    const edited = await meshlens(copy.dir, ['--help']);
    assert.match(edited.stderr, /running the TypeScript through tsx \(dist\/: cli\/command-summaries\.ts changed since the build\)/);
    assert.match(edited.stdout, /sidecar\s+Run an edited sidecar proxy/);

    const refused = await meshlens(copy.dir, ['--help'], { MESHLENS_RUN: 'dist' })
      .then(() => assert.fail('MESHLENS_RUN=dist ran a stale build'), (e: { code: number; stderr: string }) => e);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /MESHLENS_RUN=dist but dist\/ is not current: cli\/command-summaries\.ts changed since the build/);

    // Rebuilt, it is the build again, with the edit.
    await run(process.execPath, [join(copy.dir, 'scripts/build.mjs'), '--if-stale']);
    const rebuilt = await meshlens(copy.dir, ['--help']);
    assert.match(rebuilt.stderr, /running dist\//);
    assert.match(rebuilt.stdout, /sidecar\s+Run an edited sidecar proxy/);
  } finally {
    copy.remove();
  }
});
