// `meshlens detect`: offline anomaly detection over a feature CSV.
// Trains on the first N rows (or loads a saved detector), scores every later
// row and prints `ts,score,anomaly` CSV on stdout and nothing else; progress,
// the threshold and each alert with its explanation go to stderr. This file
// stays light: tensorflow.js loads only when the command runs.

import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseFeatureCsv } from './csv.ts';

export const summary = 'Train an anomaly detector on the first rows of a feature CSV and score the rest (ts,score,anomaly on stdout).';

const USAGE = `usage: meshlens detect --csv <file> --train-rows <N> [flags]
${summary}

  --csv <file>          header with a ts column (epoch ms) and numeric feature columns; empty cells are gaps
  --train-rows <N>      train on rows 1..N, score every later row
  --subject <name>      what the rows describe, used in alert explanations (default: the file name)
  --save <dir>          save the trained detector (model.json, weights.bin, detector.json)
  --model <dir>         score with a saved detector instead of training (its columns must match)
  --epochs <n>          most training epochs (default 15; early stopping usually ends sooner)
  --units <n>           LSTM units (default 16)
  --window <n>          steps per window (default 12)

stdout: ts,score,anomaly — score is the window's reconstruction error ending at that row,
anomaly is 1 while an alert is open (threshold + hysteresis), else 0.`;

export interface DetectArgs { csv: string; trainRows: number; subject?: string; save?: string; model?: string; epochs?: number; units?: number; window?: number }

export class DetectUsageError extends Error {
  readonly code = 'MODELS_ERR_USAGE';
  constructor(readonly problems: string[]) { super(`${problems.join('\n')}\n\n${USAGE}`); }
}

export function parseDetectArgs(argv: string[]): DetectArgs | 'help' {
  const problems: string[] = [];
  const v: Record<string, string> = {};
  const known = ['csv', 'train-rows', 'subject', 'save', 'model', 'epochs', 'units', 'window'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    if (!a.startsWith('--')) { problems.push(`unexpected argument "${a}"`); continue; }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!known.includes(name)) { problems.push(`unknown flag --${name}`); continue; }
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) { problems.push(`--${name}: missing value`); continue; }
      i++;
    }
    v[name] = value;
  }
  const int = (name: string, min: number): number | undefined => {
    if (v[name] === undefined) return undefined;
    const n = Number(v[name]);
    if (!Number.isSafeInteger(n) || n < min) { problems.push(`--${name}: "${v[name]}" is not an integer >= ${min}`); return undefined; }
    return n;
  };
  if (v.csv === undefined) problems.push('--csv: required');
  if (v['train-rows'] === undefined) problems.push('--train-rows: required');
  const out: DetectArgs = {
    csv: v.csv, trainRows: int('train-rows', 1) ?? 0, subject: v.subject, save: v.save, model: v.model,
    epochs: int('epochs', 1), units: int('units', 1), window: int('window', 2),
  };
  if (problems.length) throw new DetectUsageError(problems);
  return out;
}

function progress(err: Writable & { isTTY?: boolean }): (epoch: number, max: number, loss: number, val: number) => void {
  return (epoch, max, loss, val) => {
    const text = `epoch ${epoch}/${max} loss ${loss.toFixed(4)} validation ${val.toFixed(4)}`;
    if (err.isTTY) {
      const width = 30, done = Math.round((width * epoch) / max);
      err.write(`\rdetect: [${'#'.repeat(done)}${' '.repeat(width - done)}] ${text}`);
    } else err.write(`detect: ${text}\n`);
  };
}

export interface DetectIo { out: Writable; err: Writable & { isTTY?: boolean } }

export async function runDetect(args: DetectArgs, io: DetectIo): Promise<void> {
  let text: string;
  try {
    text = await readFile(args.csv, 'utf8');
  } catch (e) {
    throw new Error(`--csv ${args.csv}: ${(e as Error).message}`);
  }
  const series = parseFeatureCsv(text, args.csv);
  if (args.trainRows >= series.rows.length) {
    throw new DetectUsageError([`--train-rows ${args.trainRows}: the file has ${series.rows.length} data rows, leaving none to score`]);
  }
  const { AlertTracker, loadDetector, saveDetector, tfBackend, trainDetector } = await import('./index.ts');
  const { sliceSeries } = await import('./series.ts');
  const backend = await tfBackend();
  io.err.write(`detect: ${series.rows.length} rows × ${series.names.length} features, tensorflow.js backend ${backend}\n`);
  let det;
  if (args.model) {
    det = await loadDetector(args.model);
    io.err.write(`detect: loaded ${args.model} (trained on ${det.meta.training.rows} rows)\n`);
  } else {
    const onEpoch = progress(io.err);
    det = await trainDetector(sliceSeries(series, 0, args.trainRows), {
      subject: args.subject ?? args.csv.split('/').pop(), epochs: args.epochs, units: args.units, window: args.window, onEpoch,
    });
    if (io.err.isTTY) io.err.write('\n');
    if (args.save) { await saveDetector(args.save, det); io.err.write(`detect: saved to ${args.save}\n`); }
  }
  const t = det.meta.threshold;
  io.err.write(`detect: threshold ${t.value.toPrecision(4)} (${t.method}, risk ${t.risk}, GPD shape ${t.shape.toFixed(3)})\n`);
  const { scores, contributions } = det.scoreSeries(series);
  const tracker = new AlertTracker(det);
  const lines = ['ts,score,anomaly'];
  for (let i = args.trainRows; i < series.rows.length; i++) {
    const ts = series.ts[i];
    const alert = tracker.push({ ts, score: scores[i], threshold: det.threshold, above: scores[i] > det.threshold, top: det.topFeatures(contributions[i] ?? []) });
    if (alert) io.err.write(`detect: alert ${alert.state} at ${new Date(ts).toISOString()}: ${alert.summary} (score ${alert.score.toPrecision(3)} > ${alert.threshold.toPrecision(3)})\n`);
    lines.push(`${ts},${Number.isFinite(scores[i]) ? scores[i].toPrecision(6) : 'NaN'},${tracker.open ? 1 : 0}`);
  }
  io.out.write(lines.join('\n') + '\n');
  const s = tracker.stats();
  io.err.write(`detect: scored ${s.scored} rows (${s.skipped} without data), ${s.opened} alerts opened, ${s.resolved} resolved\n`);
}

/** The CLI entry: stdout carries only the CSV, so `log` (timestamped, on stdout) is not used. */
export async function run(argv: string[], _log: (line: string) => void): Promise<void> {
  const args = parseDetectArgs(argv);
  if (args === 'help') { process.stdout.write(USAGE + '\n'); return; }
  await runDetect(args, { out: process.stdout, err: process.stderr });
}
