// `meshlens report verify <file>`: is this the report that was issued, and
// does the store still agree with it?
//
//   1. stamp    the body's canonical JSON hashes to the stamp it carries
//               (JSON and HTML files carry the body; a PDF does not, and is
//               recognised by its file digest among the files issued)
//   2. issued   the store holds a report of that id with that stamp
//   3. store    the same pack, run again over the same period, gives each
//               control the same status, evidence and number of
//               counterexamples, and the chains end at the same heads
//
// A report is "verified" only when all three hold. Each difference found is
// named: which control, which figure, then and now.

import type { TrustBundle } from '../../identity/index.ts';
import { parseFiles, REPORT_FORMAT, type ReportFile } from './contract.ts';
import { loadPack } from './pack.ts';
import { readEmbeddedReport } from './render-html.ts';
import { issueReport } from './report.ts';
import type { ReportStore } from './reports.ts';
import { sha256Hex, stampOf } from './stamp.ts';

export interface Verdict {
  /** true only when the stamp holds, the store issued it, and the store still agrees. */
  verified: boolean;
  file: 'json' | 'html' | 'pdf' | 'unknown';
  id: string | null;
  stamp: 'intact' | 'altered' | 'not_in_file';
  issued: 'yes' | 'no' | 'different_stamp' | 'not_checked';
  store: 'agrees' | 'differs' | 'not_checked';
  differences: string[];
}

/** Reads a report back from a file's bytes: JSON, or HTML with the embedded report; null for anything else (a PDF). */
export function readReportFile(bytes: Buffer): { file: Verdict['file']; report: ReportFile | null } {
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return { file: 'pdf', report: null };
  const text = bytes.toString('utf8');
  const start = text.trimStart()[0];
  if (start === '{') {
    try {
      const v = JSON.parse(text) as ReportFile;
      return { file: 'json', report: v?.body?.format === REPORT_FORMAT && typeof v.sha256 === 'string' ? v : null };
    } catch {
      return { file: 'json', report: null };
    }
  }
  if (start === '<') {
    const r = readEmbeddedReport(text) as ReportFile | null;
    return { file: 'html', report: r?.body?.format === REPORT_FORMAT ? r : null };
  }
  return { file: 'unknown', report: null };
}

/** Verifies a report file; `store` null checks the stamp only; `trust` as issueReport's (stored signatures checked again). */
export async function verifyReport(bytes: Buffer, store: ReportStore | null, trust?: () => TrustBundle): Promise<Verdict> {
  const { file, report: fromFile } = readReportFile(bytes);
  const v: Verdict = { verified: false, file, id: null, stamp: 'not_in_file', issued: 'not_checked', store: 'not_checked', differences: [] };
  let report = fromFile;
  if (file === 'pdf') {
    if (!store) return { ...v, differences: ['a PDF carries no readable body: verify it against the store (give --data-dir or --control)'] };
    const digest = sha256Hex(bytes);
    const owner = (await store.reports({ limit: 100_000 })).find((r) => parseFiles(r.files).some((f) => f.sha256 === digest));
    if (!owner) return { ...v, issued: 'no', differences: [`no stored report lists a file with SHA-256 ${digest}`] };
    const stored = await store.report(owner.id);
    report = stored && { body: JSON.parse(stored.body) as ReportFile['body'], sha256: stored.sha256 };
    v.issued = 'yes';
  }
  if (!report) return { ...v, differences: [`not a meshlens report file (${REPORT_FORMAT} as JSON, or its HTML rendering)`] };
  v.id = report.body.id;
  if (file !== 'pdf') v.stamp = stampOf(report.body) === report.sha256 ? 'intact' : 'altered';
  if (v.stamp === 'altered') v.differences.push(`the body hashes to ${stampOf(report.body)}, not to the stamp ${report.sha256}: the file was edited`);
  if (!store) return v;
  if (file !== 'pdf') {
    const stored = await store.report(report.body.id);
    v.issued = !stored ? 'no' : stored.sha256 === report.sha256 ? 'yes' : 'different_stamp';
    if (v.issued === 'no') v.differences.push(`the store holds no report ${report.body.id}`);
    if (v.issued === 'different_stamp') v.differences.push(`the store's report ${report.body.id} has stamp ${stored!.sha256}, the file ${report.sha256}`);
  }
  v.differences.push(...await storeDifferences(report, store, trust));
  v.store = v.differences.some((d) => d.startsWith('now: ')) ? 'differs' : 'agrees';
  v.verified = (v.stamp === 'intact' || file === 'pdf') && v.issued === 'yes' && v.store === 'agrees';
  return v;
}

/** What the store says now that the report did not ("now: …"). */
async function storeDifferences(report: ReportFile, store: ReportStore, trust?: () => TrustBundle): Promise<string[]> {
  const b = report.body;
  let pack;
  try {
    pack = loadPack(b.pack.name);
  } catch (e) {
    return [`now: pack ${b.pack.name} cannot be loaded to run the controls again: ${(e as Error).message}`];
  }
  const out: string[] = [];
  if (pack.digest !== b.pack.digest) out.push(`now: pack ${b.pack.name} has digest ${pack.digest.slice(0, 12)}…, the report was issued with ${b.pack.digest.slice(0, 12)}…`);
  const { report: again } = await issueReport(store, { pack, period: b.period, issuedBy: 'verify', trust });
  const now = new Map(again.body.controls.map((c) => [c.id, c]));
  for (const c of b.controls) {
    const n = now.get(c.id);
    if (!n) { out.push(`now: control ${c.id} is not in the pack`); continue; }
    if (n.status !== c.status) out.push(`now: control ${c.id} is ${n.status}, the report says ${c.status}`);
    if (n.counterexamples_total !== c.counterexamples_total) out.push(`now: control ${c.id} has ${n.counterexamples_total} counterexamples, the report ${c.counterexamples_total}`);
    for (const [k, x] of Object.entries(c.evidence)) {
      if (n.evidence[k] !== x) out.push(`now: control ${c.id} evidence ${k} is ${n.evidence[k]}, the report says ${x}`);
    }
  }
  const heads = (hs: ReportFile['body']['chain_heads']) => new Map(hs.map((h) => [`${h.proxy}/${h.stream}`, `${h.batch}:${h.hash}`]));
  const then = heads(b.chain_heads);
  const nowHeads = heads(again.body.chain_heads);
  for (const [k, h] of then) if (nowHeads.get(k) !== h) out.push(`now: chain ${k} ends at ${nowHeads.get(k) ?? 'nothing'}, the report says ${h}`);
  for (const k of nowHeads.keys()) if (!then.has(k)) out.push(`now: chain ${k} has batches in the period the report did not see`);
  if (again.body.chain.problems !== b.chain.problems) out.push(`now: ${again.body.chain.problems} chain problems, the report saw ${b.chain.problems}`);
  return out;
}
