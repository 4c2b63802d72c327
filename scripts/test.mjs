#!/usr/bin/env node
// `npm test`: installs the Debian peers the tests drive (when root), type-checks,
// then runs every *.test.ts with Node's test runner through tsx.
//
//   npm test                      the whole suite
//   npm test -- mesh/proxy        only test files under these paths
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// Debian packages the suite needs, by the binary that proves each is there.
const DEBIAN = [
  { bin: '/usr/bin/chromium', pkg: 'chromium' }, // browser tests (playwright-core)
  { bin: '/usr/bin/kcat', pkg: 'kcat' }, // librdkafka's mock Kafka cluster
  { bin: '/usr/sbin/clickhouse-server', pkg: 'clickhouse-server' }, // the @clickhouse/client path
  { bin: '/usr/share/java/zookeeper.jar', pkg: 'zookeeper' }, // the ClickHouse cluster's coordination (test/cluster.test.ts); pulls in a JVM
  { bin: '/usr/bin/wrk', pkg: 'wrk' }, // load in benchmarks
  { bin: '/usr/bin/pdftotext', pkg: 'poppler-utils' }, // what a compliance report's PDF says
];

function ensureDebianPackages() {
  const missing = DEBIAN.filter((d) => !existsSync(d.bin)).map((d) => d.pkg);
  if (missing.length === 0) return;
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`meshlens test: missing Debian packages; run as root:\n  apt-get update && ${cmd}`);
    process.exit(1);
  }
  console.error(`meshlens test: installing ${missing.join(', ')} …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const c of ['apt-get update -qq', `${cmd} -qq`]) {
    const r = spawnSync('sh', ['-c', c], { stdio: 'inherit', env });
    if (r.status !== 0) { console.error(`meshlens test: '${c}' failed`); process.exit(1); }
  }
}

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

ensureDebianPackages();

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) { console.error('meshlens test: type check failed'); process.exit(1); }

const only = process.argv.slice(2);
const files = findTests(root).filter((f) => only.length === 0 || only.some((o) => f.startsWith(o))).sort();
if (files.length === 0) { console.error('meshlens test: no test files found'); process.exit(1); }

// Tests under test/ each run a whole mesh (a dozen processes): one at a time,
// so two of them never share this machine's cores. Folder tests run two at a time.
const heavy = files.filter((f) => f.startsWith('test/'));
const light = files.filter((f) => !f.startsWith('test/'));
let passed = 0;
let failed = 0;
let status = 0;
for (const [group, concurrency] of [[light, 2], [heavy, 1]]) {
  if (group.length === 0) continue;
  const tap = join(mkdtempSync(join(tmpdir(), 'meshlens-test-')), 'results.tap');
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...group,
  ], { cwd: root, stdio: 'inherit', env: { ...process.env, MESHLENS_TEST: '1' } });
  const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  passed += Number(/^# pass (\d+)$/m.exec(summary)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)$/m.exec(summary)?.[1] ?? 0);
  if (r.status !== 0) status = r.status ?? 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
