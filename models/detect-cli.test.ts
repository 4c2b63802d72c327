import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDetectArgs } from './detect-cli.ts';
import { seededRandom } from './random.ts';

const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const TINY = ['--epochs', '1', '--units', '2', '--window', '4'];

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'detect', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function withCsv(text: string, fn: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlens-detect-'));
  try {
    await writeFile(join(dir, 'in.csv'), text);
    await fn(join(dir, 'in.csv'), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function tinyCsv(rows: number): { text: string; ts: number[] } {
  const rng = seededRandom(3);
  const ts: number[] = [];
  const lines = ['ts,latency,errors'];
  for (let i = 0; i < rows; i++) {
    ts.push(1_767_571_200_000 + i * 10_000);
    lines.push(`${ts[i]},${(20 * Math.exp(0.05 * rng.normal())).toFixed(3)},${i === 150 ? '' : (1 + rng.next()).toFixed(3)}`);
  }
  return { text: lines.join('\n') + '\n', ts };
}

test('detect prints exactly ts,score,anomaly and one line per scored row on stdout, and saves the model it trained', async () => {
  const { text, ts } = tinyCsv(200);
  await withCsv(text, async (csv, dir) => {
    const r = await runCli(['--csv', csv, '--train-rows', '120', '--save', join(dir, 'model'), ...TINY]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), ''); // ends with a newline, nothing after it
    assert.equal(lines[0], 'ts,score,anomaly');
    assert.equal(lines.length, 1 + 80);
    lines.slice(1).forEach((l, k) => {
      const [t, score, anomaly] = l.split(',');
      assert.equal(Number(t), ts[120 + k], l);
      assert.ok(Number.isFinite(Number(score)) && Number(score) >= 0, l);
      assert.match(anomaly, /^[01]$/);
      assert.equal(l.split(',').length, 3);
    });
    assert.match(r.stderr, /backend (wasm|tensorflow)/);
    assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['detector.json', 'model.json', 'weights.bin']);
  });
});

test('detect --model scores with a saved detector and prints the same lines as the run that trained it', async () => {
  const { text } = tinyCsv(200);
  await withCsv(text, async (csv, dir) => {
    const first = await runCli(['--csv', csv, '--train-rows', '120', '--save', join(dir, 'model'), ...TINY]);
    assert.equal(first.code, 0, first.stderr);
    const again = await runCli(['--csv', csv, '--train-rows', '120', '--model', join(dir, 'model')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.match(again.stderr, /loaded .*model \(trained on 120 rows\)/);
  });
});

test('detect rejects a malformed CSV with the line and column, exit code 1 and nothing on stdout', async () => {
  await withCsv('ts,latency\n1000,20\n2000,twenty\n', async (csv) => {
    const r = await runCli(['--csv', csv, '--train-rows', '1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /in\.csv: line 3, column 2 \(latency\): "twenty" is not a number/);
  });
});

test('detect refuses --train-rows that leaves no row to score, before training', async () => {
  await withCsv(tinyCsv(30).text, async (csv) => {
    const r = await runCli(['--csv', csv, '--train-rows', '30']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--train-rows 30: the file has 30 data rows, leaving none to score/);
  });
});

test('detect flags: both --csv and --train-rows are required and counts must be integers', () => {
  assert.throws(() => parseDetectArgs([]), /--csv: required\n--train-rows: required/);
  assert.throws(() => parseDetectArgs(['--csv', 'x', '--train-rows', '1.5']), /--train-rows: "1.5" is not an integer >= 1/);
  assert.throws(() => parseDetectArgs(['--csv', 'x', '--train-rows', '5', '--bogus', '1']), /unknown flag --bogus/);
  assert.deepEqual(parseDetectArgs(['--csv=x', '--train-rows', '5']), { csv: 'x', trainRows: 5, subject: undefined, save: undefined, model: undefined, epochs: undefined, units: undefined, window: undefined });
  assert.equal(parseDetectArgs(['--help']), 'help');
});
