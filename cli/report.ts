// `meshlens report`: compliance reports (policy/compliance).
//
//   meshlens report [--from 24h] [--until 1m] [--pack baseline] [--format json|html|pdf] [--out file]
//   meshlens report list
//   meshlens report verify <file>
//
// With a control plane running (--control, credentials from --data-dir) the
// CLI asks it: it holds the store (chdb allows one process per data dir).
// When none answers, the CLI opens the store itself (--store, --data-dir,
// --clickhouse-url) and does the same work in-process.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { TrustBundle } from '../identity/index.ts';
import { DEFAULT_PACK, isPackPath, REPORT_FORMATS, ReportService, type ReportFormat, type ReportSummary, type Verdict } from '../policy/index.ts';
import { controlClient, type ControlClient } from './control-client.ts';
import { parseFlags, UsageError, type FlagSpec, type FlagValues } from './flags.ts';
import { openStore, STORE_FLAGS } from './store.ts';
import { parseDuration, parseSince } from './tuning-commands.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

export const REPORT_SUMMARY = COMMAND_SUMMARIES.report;

const WHERE_FLAGS: FlagSpec[] = [
  { name: 'control', type: 'string', env: 'MESHLENS_CONTROL_URL', default: 'https://127.0.0.1:7071', help: 'control plane URL (asked first)' },
  ...STORE_FLAGS,
  { name: 'json', type: 'bool', default: false, help: 'print JSON instead of text' },
];

const ISSUE_FLAGS: FlagSpec[] = [
  ...WHERE_FLAGS,
  { name: 'from', type: 'string', default: '24h', help: 'start of the period: a duration back from now (90m, 24h, 7d) or a time (2026-12-07T00:00:00Z)' },
  { name: 'until', type: 'string', default: '1m', help: 'end of the period (excluded): a duration back from now, a time, or now (the last minute\'s taps may still be on their way)' },
  { name: 'pack', type: 'string', default: DEFAULT_PACK, help: 'control pack: a built-in name, or a folder of Rego modules (in-process only)' },
  { name: 'format', type: 'string', help: 'json, html or pdf (default: from --out\'s extension, else json)' },
  { name: 'out', type: 'string', help: 'file to write (default: standard output; required for pdf)' },
];

const USAGE = 'usage: meshlens report [flags]   (meshlens report --help)\n       meshlens report list [--json]\n       meshlens report verify <file> [--json]';

export async function runReport(argv: string[]): Promise<void> {
  const [verb] = argv;
  if (verb === 'verify') return verifyCommand(argv.slice(1));
  if (verb === 'list') return listCommand(argv.slice(1));
  if (verb !== undefined && !verb.startsWith('-')) throw new UsageError([`expected a flag, list or verify, got "${verb}"`], USAGE);
  const f = parseFlags('report', REPORT_SUMMARY, argv, ISSUE_FLAGS);
  const now = Date.now();
  const problems: string[] = [];
  const from = periodEdge('from', String(f.from), now, problems);
  const until = periodEdge('until', String(f.until), now, problems);
  const out = f.out === undefined ? undefined : resolve(String(f.out));
  const format = (f.format ?? formatOf(out)) as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) problems.push(`--format: one of ${REPORT_FORMATS.join(', ')}, got "${f.format}"`);
  if (format === 'pdf' && !out) problems.push('--out: required for a PDF');
  if (until <= from) problems.push(`--until (${new Date(until).toISOString()}) must be later than --from (${new Date(from).toISOString()})`);
  if (problems.length) throw new UsageError(problems, USAGE);
  const pack = String(f.pack);
  const viaControl = await reachControl(f);
  let id: string;
  let bytes: Buffer;
  if (viaControl) {
    if (isPackPath(pack)) throw new Error(`the control plane at ${f.control} is running and offers packs by name only; start it with --compliance-pack ${pack}, or stop it to use a folder in-process`);
    const r = await viaControl.request('POST', '/v1/reports', { from, until, pack });
    if (r.status !== 201) throw new Error(`control plane answered ${r.status}: ${describe(r.body)}`);
    id = (r.body as ReportSummary).id;
    const file = await viaControl.requestBytes('GET', `/v1/reports/${id}?format=${format}`);
    if (file.status !== 200) throw new Error(`control plane answered ${file.status} for the ${format} of ${id}: ${file.bytes.toString('utf8').slice(0, 300)}`);
    bytes = file.bytes;
  } else {
    ({ id, bytes } = await inProcess(f, async (service) => {
      const report = await service.issue({ from, until }, pack, 'cli');
      const rendered = await service.render(report.body.id, format);
      return { id: report.body.id, bytes: rendered!.bytes };
    }));
  }
  if (out) {
    writeFileSync(out, bytes);
    const body = format === 'json' ? (JSON.parse(bytes.toString('utf8')) as { body: { totals: Record<string, number> } }).body : null;
    const totals = body ? `: ${Object.entries(body.totals).map(([k, v]) => `${v} ${k.replace('_', ' ')}`).join(', ')}` : '';
    process.stderr.write(`report ${id} (${new Date(from).toISOString()} .. ${new Date(until).toISOString()}) written to ${out}${totals}\n`);
  } else {
    process.stdout.write(bytes);
  }
}

async function listCommand(argv: string[]): Promise<void> {
  const f = parseFlags('report list', REPORT_SUMMARY, argv, WHERE_FLAGS);
  const c = await reachControl(f);
  let reports: ReportSummary[];
  if (c) {
    const r = await c.request('GET', '/v1/reports?limit=100');
    if (r.status !== 200) throw new Error(`control plane answered ${r.status}: ${describe(r.body)}`);
    reports = (r.body as { reports: ReportSummary[] }).reports;
  } else {
    reports = await inProcess(f, (s) => s.list(100), false);
  }
  if (f.json) { console.log(JSON.stringify({ reports }, null, 2)); return; }
  if (reports.length === 0) { console.log('no reports issued yet (meshlens report issues one)'); return; }
  for (const r of reports) {
    const t = r.totals;
    console.log(`${r.id}  ${iso(r.from)} .. ${iso(r.until)}  ${r.pack.padEnd(10)} ${t.pass ?? 0} pass, ${t.fail ?? 0} fail, ${t.insufficient_evidence ?? 0} insufficient, ${t.not_applicable ?? 0} n/a  ${r.sha256.slice(0, 16)}…`);
  }
}

async function verifyCommand(argv: string[]): Promise<void> {
  const file = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const f = parseFlags('report verify', REPORT_SUMMARY, file ? argv.slice(1) : argv, WHERE_FLAGS);
  if (!file) throw new UsageError(['name the report file: meshlens report verify <file>'], USAGE);
  const bytes = readFileSync(resolve(file));
  const c = await reachControl(f);
  let v: Verdict;
  if (c) {
    const r = await c.requestBytes('POST', '/v1/reports/verify', bytes);
    if (r.status !== 200) throw new Error(`control plane answered ${r.status}: ${r.bytes.toString('utf8').slice(0, 300)}`);
    v = JSON.parse(r.bytes.toString('utf8')) as Verdict;
  } else {
    v = await inProcess(f, (s) => s.verify(bytes));
  }
  if (f.json) console.log(JSON.stringify(v, null, 2));
  else {
    console.log(`${file}: ${v.verified ? 'VERIFIED' : 'NOT VERIFIED'} (${v.file}${v.id ? `, ${v.id}` : ''})`);
    console.log(`  stamp:  ${v.stamp}\n  issued: ${v.issued}\n  store:  ${v.store}`);
    for (const d of v.differences) console.log(`  - ${d}`);
  }
  if (!v.verified) process.exitCode = 1;
}

/** Epoch ms of --from or --until (which may also be now); NaN, with a problem naming the flag, for anything else. */
function periodEdge(flag: 'from' | 'until', text: string, now: number, problems: string[]): number {
  if (flag === 'until' && text === 'now') return now;
  try {
    return parseSince(text, now);
  } catch {
    problems.push(`--${flag}: "${text.slice(0, 64)}" is neither a duration back from now (90m, 24h, 7d) nor a time (2026-12-07T00:00:00Z)${flag === 'until' ? ' nor now' : ''}`);
    return NaN;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const describe = (b: unknown) => (typeof b === 'string' ? b.slice(0, 300) : (b as { message?: string })?.message ?? JSON.stringify(b).slice(0, 300));

function formatOf(out: string | undefined): string {
  const ext = out ? extname(out).slice(1).toLowerCase() : '';
  return ext === 'htm' ? 'html' : (REPORT_FORMATS as readonly string[]).includes(ext) ? ext : 'json';
}

/** A client of the running control plane, or null when none answers (or the data dir holds no credentials for one). */
export async function reachControl(f: FlagValues): Promise<ControlClient | null> {
  const dir = resolve(String(f['data-dir']));
  if (!existsSync(join(dir, 'operator-token')) || !existsSync(join(dir, 'ca', 'bundle.pem'))) return null;
  const c = await controlClient({ url: String(f.control), dataDir: dir, timeoutMs: 600_000 });
  try {
    const r = await c.request('GET', '/healthz');
    return r.status === 200 ? c : null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return null;
    throw e;
  }
}

/** `signatures`: the reports issued or verified check stored batch signatures against the mesh's CA bundle. */
async function inProcess<T>(f: FlagValues, fn: (s: ReportService) => Promise<T>, signatures = true): Promise<T> {
  const trust = signatures ? caBundle(f) : undefined;
  const { store } = await openStore(f);
  try {
    return await fn(new ReportService(store, { trust }));
  } finally {
    await store.close();
  }
}

/**
 * The control plane's CA bundle (<data-dir>/ca/bundle.pem, as `meshlens
 * collector` reads it), which the collectors believed signatures under;
 * without one a report cannot check the stored signatures, and says so.
 */
function caBundle(f: FlagValues): (() => TrustBundle) | undefined {
  const file = join(resolve(String(f['data-dir'])), 'ca', 'bundle.pem');
  if (!existsSync(file)) {
    process.stderr.write(`report: no CA bundle at ${file}, so stored batch signatures are not checked again (give --data-dir of the control plane)\n`);
    return undefined;
  }
  const bundle = TrustBundle.fromPem(readFileSync(file, 'utf8'), file);
  return () => bundle;
}
