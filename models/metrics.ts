// Detection quality, measured the way an on-call engineer feels it.
//
// Event level: an incident is found when an alert opens inside it; every
// alert that opens outside all (non-benign) incidents is one false alarm,
// including alerts on benign events such as flash crowds. Precision is
// found / (found + false alarms), so one incident with fifty alerts still
// counts once and the forty-nine extra alerts inside it are not punished
// (hysteresis exists so that they do not happen; pointwise F1 sees them).
// An alert that opens within `graceRows` after an incident ends is neither
// found nor false: a sliding window still sees the incident's tail then.
//
// Point level: each row is labelled by "inside a non-benign incident" and
// predicted by "an alert is open"; plain F1, no point-adjustment.

export interface LabelledEvent { start: number; end: number; benign: boolean }
export interface AlertSpan { start: number; end: number }

export interface EventScore {
  incidents: number;
  found: number;
  alerts: number;
  falseAlarms: number;
  precision: number;
  recall: number;
  f1: number;
  /** Rows from incident start to the first alert opening inside it, per found incident. */
  delays: number[];
}

const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export function eventScore(events: LabelledEvent[], alerts: AlertSpan[], graceRows = 0): EventScore {
  const real = events.filter((e) => !e.benign);
  let found = 0;
  const delays: number[] = [];
  for (const e of real) {
    const first = alerts.find((a) => a.start >= e.start && a.start < e.end);
    if (first) { found++; delays.push(first.start - e.start); }
  }
  const falseAlarms = alerts.filter((a) => !real.some((e) => a.start >= e.start && a.start < e.end + graceRows)).length;
  const precision = found + falseAlarms === 0 ? (real.length === 0 ? 1 : 0) : found / (found + falseAlarms);
  const recall = real.length === 0 ? 1 : found / real.length;
  return { incidents: real.length, found, alerts: alerts.length, falseAlarms, precision, recall, f1: f1Of(precision, recall), delays };
}

export interface PointScore { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number }

/** Rows [from, to) of `predicted` against labels derived from the events. */
export function pointScore(events: LabelledEvent[], predicted: boolean[], from = 0, to = predicted.length): PointScore {
  const label = new Array<boolean>(to - from).fill(false);
  for (const e of events) if (!e.benign) for (let i = Math.max(from, e.start); i < Math.min(to, e.end); i++) label[i - from] = true;
  let tp = 0, fp = 0, fn = 0;
  for (let i = from; i < to; i++) {
    const p = predicted[i], l = label[i - from];
    if (p && l) tp++; else if (p) fp++; else if (l) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return { tp, fp, fn, precision, recall, f1: f1Of(precision, recall) };
}

/** Alert spans from a per-row open/closed flag. */
export function spansOf(open: boolean[]): AlertSpan[] {
  const out: AlertSpan[] = [];
  let s = -1;
  for (let i = 0; i <= open.length; i++) {
    if (i < open.length && open[i]) { if (s < 0) s = i; } else if (s >= 0) { out.push({ start: s, end: i }); s = -1; }
  }
  return out;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
