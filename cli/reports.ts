// Compliance reports in a running control plane: the service over its
// store, the packs it offers by name (/v1/reports, the UI), and the
// schedule that issues one every --report-every.

import { basename, resolve } from 'node:path';
import type { TrustBundle } from '../identity/index.ts';
import { builtinPacks, DEFAULT_PACK, loadPack, ReportSchedule, ReportService, type ReportStore } from '../policy/index.ts';
import type { ReportsApi } from '../mesh/control/index.ts';
import { listFlag, type FlagSpec, type FlagValues } from './flags.ts';
import { parseDuration } from './tuning-commands.ts';

export const REPORT_FLAGS: FlagSpec[] = [
  { name: 'compliance-pack', type: 'string', env: 'MESHLENS_COMPLIANCE_PACKS', help: 'more control packs to offer (folders of Rego modules, comma-separated), named by their folder' },
  { name: 'report-pack', type: 'string', env: 'MESHLENS_REPORT_PACK', default: DEFAULT_PACK, help: 'the pack scheduled reports use' },
  { name: 'report-every', type: 'string', env: 'MESHLENS_REPORT_EVERY', default: '24h', help: 'issue a compliance report of the last period this often (90s, 15m, 24h; off: never)' },
];

export function reportProblems(f: FlagValues): string[] {
  const p: string[] = [];
  const every = String(f['report-every']);
  if (every !== 'off' && !(parseDuration(every) >= 10_000)) p.push(`--report-every: a duration of at least 10s (90s, 15m, 24h) or off, got "${every}"`);
  try {
    const packs = offeredPacks(f);
    if (!Object.hasOwn(packs, String(f['report-pack']))) p.push(`--report-pack: one of ${Object.keys(packs).join(', ')}, got "${f['report-pack']}"`);
  } catch (e) {
    p.push(`--compliance-pack: ${(e as Error).message}`);
  }
  return p;
}

/** Pack name → what loadPack takes: the built-in packs, then each --compliance-pack folder by its name (loaded once here, so a broken one stops the start). */
function offeredPacks(f: FlagValues): Record<string, string> {
  const packs: Record<string, string> = Object.fromEntries(builtinPacks().map((n) => [n, n]));
  for (const dir of listFlag(f, 'compliance-pack')) {
    const name = basename(resolve(dir));
    if (Object.hasOwn(packs, name)) throw new Error(`a pack named ${name} is already offered; rename the folder`);
    loadPack(resolve(dir));
    packs[name] = resolve(dir);
  }
  return packs;
}

/** `trust`: the control plane's CA bundle, so reports (and verify) check the stored batch signatures again. */
export function startReports(f: FlagValues, store: ReportStore, log: (m: string) => void, uiBase: string, trust?: () => TrustBundle): { api: ReportsApi; schedule: ReportSchedule | null } {
  const service = new ReportService(store, {
    trust,
    html: { tapLink: (p) => `${uiBase}/#taps?proxy=${encodeURIComponent(p.proxy)}&seq=${p.seq}&ts=${p.ts}` },
  });
  const packs = offeredPacks(f);
  const every = String(f['report-every']);
  let schedule: ReportSchedule | null = null;
  if (every !== 'off') {
    schedule = new ReportSchedule(service, { everyMs: parseDuration(every), pack: packs[String(f['report-pack'])], log: (m) => log(`reports: ${m}`) });
    schedule.start();
    log(`reports: ${String(f['report-pack'])} every ${every} (packs offered: ${Object.keys(packs).join(', ')})`);
  }
  return { api: { service, packs }, schedule };
}
