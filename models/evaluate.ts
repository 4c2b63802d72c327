// The evaluation harness: runs any row scorer over scenarios, applies the same
// hysteresis, and sums event-level and point-level results across services.

import { alertFlags, type HysteresisOptions } from './hysteresis.ts';
import { eventScore, median, pointScore, spansOf } from './metrics.ts';
import type { Scenario } from './scenario.ts';
import { stepMs } from './series.ts';
import type { RowScores } from './baselines.ts';

/** Alert flags for the scored rows, decided by the detector itself (`meshlens detect`'s anomaly column). */
export interface AlertRows { open: boolean[] }
export type RowScorer = (scn: Scenario) => Promise<RowScores | AlertRows> | RowScores | AlertRows;

export interface EvalRow {
  detector: string;
  services: number;
  incidents: number;
  found: number;
  falseAlarms: number;
  eventPrecision: number;
  eventRecall: number;
  eventF1: number;
  pointF1: number;
  medianDelayS: number;
  falseAlarmsPerServiceDay: number;
  /** Incident kinds that were missed, with counts. */
  missed: Record<string, number>;
  /** Benign flash crowds that drew an alert. */
  flashCrowdAlerts: number;
}

export interface EvalOptions { hysteresis?: HysteresisOptions; graceRows?: number }

export async function evaluate(detector: string, scorer: RowScorer, scenarios: Scenario[], opts: EvalOptions = {}): Promise<EvalRow> {
  let incidents = 0, found = 0, falseAlarms = 0, tp = 0, fp = 0, fn = 0, days = 0, flash = 0;
  const delays: number[] = [];
  const missed: Record<string, number> = {};
  for (const scn of scenarios) {
    const r = await scorer(scn);
    const from = scn.trainRows, to = scn.series.rows.length;
    const open = 'open' in r ? r.open : alertFlags(r.scores.slice(from, to), r.threshold, opts.hysteresis);
    if (open.length !== to - from) throw new Error(`${detector} on ${scn.service}: ${open.length} alert flags for ${to - from} scored rows`);
    const spans = spansOf(open);
    const events = scn.incidents.map((e) => ({ ...e, start: e.start - from, end: e.end - from }));
    const ev = eventScore(events, spans, opts.graceRows ?? 12);
    const pt = pointScore(events, open);
    incidents += ev.incidents; found += ev.found; falseAlarms += ev.falseAlarms;
    tp += pt.tp; fp += pt.fp; fn += pt.fn;
    const step = stepMs(scn.series.ts);
    delays.push(...ev.delays.map((d) => (d * step) / 1000));
    days += ((to - from) * step) / 86_400_000;
    for (const e of events) {
      const hit = spans.some((a) => a.start >= e.start && a.start < e.end);
      if (!e.benign && !hit) missed[e.kind] = (missed[e.kind] ?? 0) + 1;
      if (e.benign && hit) flash++;
    }
  }
  const p = found + falseAlarms ? found / (found + falseAlarms) : 0;
  const r = incidents ? found / incidents : 0;
  const pp = tp + fp ? tp / (tp + fp) : 0, pr = tp + fn ? tp / (tp + fn) : 0;
  return {
    detector, services: scenarios.length, incidents, found, falseAlarms,
    eventPrecision: p, eventRecall: r, eventF1: p + r ? (2 * p * r) / (p + r) : 0,
    pointF1: pp + pr ? (2 * pp * pr) / (pp + pr) : 0,
    medianDelayS: median(delays), falseAlarmsPerServiceDay: days ? falseAlarms / days : 0, missed, flashCrowdAlerts: flash,
  };
}

export function formatTable(rows: EvalRow[]): string {
  const head = '| detector | event P | event R | event F1 | point F1 | median delay | false alarms / service-day | missed kinds |';
  const sep = '|---|---|---|---|---|---|---|---|';
  const f = (x: number) => x.toFixed(3);
  const lines = rows.map((r) => `| ${r.detector} | ${f(r.eventPrecision)} | ${f(r.eventRecall)} (${r.found}/${r.incidents}) | ${f(r.eventF1)} | ${f(r.pointF1)} | ${Number.isFinite(r.medianDelayS) ? `${Math.round(r.medianDelayS)} s` : '-'} | ${r.falseAlarmsPerServiceDay.toFixed(2)} (${r.falseAlarms}; ${r.flashCrowdAlerts} on flash crowds) | ${Object.entries(r.missed).map(([k, n]) => `${k}×${n}`).join(', ') || '-'} |`);
  return [head, sep, ...lines].join('\n');
}
