// The live detector: every tick (10 s) it reads the newest complete rollup
// buckets of every service and edge, scores each new bucket's window with
// that subject's model, turns scores into alert records (live-alerts.ts)
// and writes them to the sink. A subject gets its first model once it has
// `trainAfterMs` of unbroken history, and a new one every `retrainEveryMs`
// or on demand; training runs in a worker thread (train-job.ts), one job at
// a time, and a new model replaces the old one only while no alert is open,
// so an alert opens and resolves under one model version.
//
// Buckets that overlap one of its own training runs are left out, of
// scoring (a window ending in one is not scored; other windows see it as a
// gap) and of later training. Training takes both cores of a small machine
// for seconds, and the mesh it watches may share them: in the demo run of
// 2026-11-29 13:01, web's p50 latency went from 30-34 ms to 38-46 ms in
// exactly the three buckets of the first training (13:17:03-13:17:30),
// and with thresholds at their floor that opened p50-latency alerts on the
// web path. Off by `maskOwnTraining: false`.

import { mkdir, rm } from 'node:fs/promises';
import type { TrainOptions } from './detector.ts';
import { LiveAlerts } from './live-alerts.ts';
import { installModel, loadLiveModels, modelVersion, subjectDir, type LiveModel } from './live-models.ts';
import type { AlertRecord, AlertSink, LiveScope, RollupPoint, RollupSource } from './live-types.ts';
import { BUCKET_MS, bySubject, historyStart, liveColumns, rollupSeries, selectColumns } from './rollup-series.ts';
import { sliceSeries } from './series.ts';
import { trainInWorker } from './train-job.ts';

export interface LiveDetectorOptions {
  source: RollupSource;
  sink: AlertSink;
  /** Models live under `<modelDir>/<scope>/<subject>/`. */
  modelDir: string;
  now?: () => number;
  /** Unbroken history a subject needs before its first model. */
  trainAfterMs: number;
  retrainEveryMs: number;
  /** Buckets with traffic a training run needs; fewer and it waits. */
  minHistoryRows: number;
  log: (line: string) => void;
  /** Timer period; 0 = no timer (tests call tick()). Default 10 s. */
  tickMs?: number;
  scopes?: LiveScope[];
  /** Buckets younger than this are still filling (taps arrive in batches). Default 20 s. */
  lagMs?: number;
  /** Most history one training run reads. Default 24 h. */
  trainHistoryMs?: number;
  /** A gap this long starts a new baseline. Default 10 min. */
  maxGapMs?: number;
  /** Bucket time between updates of an open alert. Default 30 s. */
  updateEveryMs?: number;
  /** Overrides for training (tests: a tiny model). */
  train?: Omit<TrainOptions, 'subject' | 'onEpoch'>;
  /** Leave buckets that overlap this detector's own training runs out of scoring and training (see the header). Default true. */
  maskOwnTraining?: boolean;
}

export interface LiveSubjectStatus {
  scope: LiveScope; subject: string; model_version: string | null; history_from: number | null;
  last_scored: number | null; last_score: number | null; threshold: number | null; alert_open: boolean; training: boolean;
}

export interface LiveCounters {
  ticks: number; windows_scored: number; alerts_written: number; sink_errors: number; source_errors: number;
  trainings: number; training_errors: number; last_training_ms: number;
  /** Windows not scored because their newest bucket overlapped a training run. */
  windows_skipped_training: number;
}

export interface LiveDetector {
  /** One scoring pass over every scope (the timer calls this). */
  tick(): Promise<void>;
  /** Queues training for every subject named `subject` (any scope), or for all; returns `<scope>:<subject>` keys queued. */
  retrain(subject?: string): string[];
  /** Resolves when no training is queued or running. */
  idle(): Promise<void>;
  status(): LiveSubjectStatus[];
  counters(): LiveCounters;
  /** When its training runs ran, [start, end] ms, oldest first (their buckets are masked, see the header). */
  trainingSpans(): [number, number][];
  close(): Promise<void>;
}

interface Subject {
  scope: LiveScope; subject: string;
  model?: LiveModel; alerts?: LiveAlerts; pending?: LiveModel; trainedAt?: number;
  firstBucket?: number; lastBucket?: number; lastScored?: number; lastScore?: number;
  queued: boolean; retryAt: number;
  /** Alert spans (bucket ms), left out of the next training run so faults are not learnt as normal. */
  excluded: [number, number][];
}

const keyOf = (scope: LiveScope, subject: string) => `${scope}:${subject}`;
const display = (subject: string) => subject.replace('→', ' → ');
/** Most buckets one tick scores per subject (catching up after a stall). */
const CATCH_UP = 60;

export async function startLiveDetector(o: LiveDetectorOptions): Promise<LiveDetector> {
  const now = o.now ?? Date.now;
  const scopes = o.scopes ?? ['service', 'edge'];
  const lagMs = o.lagMs ?? 20_000;
  const trainHistoryMs = o.trainHistoryMs ?? 86_400_000;
  const maxGapMs = o.maxGapMs ?? 600_000;
  const updateEveryMs = o.updateEveryMs ?? 30_000;
  const subjects = new Map<string, Subject>();
  const counters: LiveCounters = {
    ticks: 0, windows_scored: 0, alerts_written: 0, sink_errors: 0, source_errors: 0, trainings: 0, training_errors: 0, last_training_ms: 0,
    windows_skipped_training: 0,
  };
  /** When this detector's training jobs ran, [start, end] in ms (the clock buckets are stamped with). */
  const trainingSpans: [number, number][] = [];
  /** Whether bucket [b, b + BUCKET_MS) is masked: it overlaps a training run (and masking is on). */
  const duringTraining = (b: number) => o.maskOwnTraining !== false && trainingSpans.some(([from, to]) => b <= to && b + BUCKET_MS > from);
  /** Blanks the rows of `series` that overlap a training run (NaN: a gap). */
  const maskTraining = (series: { ts: number[]; rows: number[][] }) => {
    if (trainingSpans.length > 0) series.rows.forEach((r, i) => { if (duringTraining(series.ts[i])) r.fill(NaN); });
  };
  const queue: Subject[] = [];
  let running: Promise<void> | null = null;
  let cancelTraining: (() => Promise<void>) | null = null;
  let closed = false;
  let probed = false;

  const get = (scope: LiveScope, subject: string): Subject => {
    const k = keyOf(scope, subject);
    let s = subjects.get(k);
    if (!s) subjects.set(k, (s = { scope, subject, queued: false, retryAt: 0, excluded: [] }));
    return s;
  };
  const install = (s: Subject, m: LiveModel) => {
    s.model = m;
    s.alerts = new LiveAlerts(s.scope, s.subject, m.det, m.version, updateEveryMs);
    s.trainedAt = Date.parse(m.det.meta.training.trainedAt);
    s.pending = undefined;
  };
  await mkdir(o.modelDir, { recursive: true });
  for (const m of await loadLiveModels(o.modelDir, o.log)) {
    install(get(m.scope, m.subject), m);
    o.log(`models: loaded ${m.scope} ${m.subject} (${m.version}, threshold ${m.det.threshold.toFixed(3)})`);
  }

  /** Buckets before this are complete. */
  const completeUntil = () => Math.floor((now() - lagMs) / BUCKET_MS) * BUCKET_MS;

  // Carry on from the alerts a previous run left: an open one is taken over
  // (same id; it updates and resolves here) and scoring resumes after its
  // last update rather than re-reading windows from before it; a resolved
  // one marks how far that subject was judged. An open alert whose subject
  // has no model any more is resolved now, saying so.
  if (o.sink.recent) {
    let recent: AlertRecord[] = [];
    try {
      recent = await o.sink.recent();
    } catch (e) {
      counters.sink_errors++;
      o.log(`models: reading recent alerts failed (${(e as Error).message}); alerts left open by an earlier run stay as they are`);
    }
    for (const rec of recent) {
      const s = subjects.get(keyOf(rec.scope, rec.subject));
      if (rec.state === 'resolved') {
        if (s && rec.resolved_at !== null) s.lastScored = Math.max(s.lastScored ?? 0, rec.resolved_at);
      } else if (s?.alerts) {
        s.alerts.resume(rec);
        s.lastScored = Math.max(s.lastScored ?? 0, rec.updated_at);
        o.log(`models: carrying on alert ${rec.id} (open since ${new Date(rec.opened_at).toISOString()})`);
      } else {
        const at = Math.max(rec.updated_at + 1, completeUntil());
        await write({
          ...rec, state: 'resolved', updated_at: at, resolved_at: at,
          explanation: `${rec.explanation} (closed at restart: no model for ${rec.scope} ${rec.subject} any more)`,
        });
      }
    }
  }

  async function write(a: AlertRecord): Promise<void> {
    try {
      await o.sink.write(a);
      counters.alerts_written++;
      if (a.state === 'resolved' || a.updated_at === a.opened_at) {
        o.log(`alert ${a.state}: ${a.explanation} (score ${a.score.toFixed(2)} / threshold ${a.threshold.toFixed(2)}, model ${a.model_version})`);
      }
    } catch (e) {
      counters.sink_errors++;
      o.log(`models: writing alert ${a.id} (${a.state}) failed: ${(e as Error).message}`);
    }
  }

  async function probeHistory(): Promise<void> {
    const until = completeUntil();
    for (const scope of scopes) {
      for (const [subject, pts] of bySubject(await o.source.series(scope, until - trainHistoryMs, until))) {
        const s = get(scope, subject);
        s.firstBucket = historyStart(pts, maxGapMs);
        s.lastBucket = Math.max(...pts.map((p) => p.bucket));
      }
    }
  }

  async function scoreScope(scope: LiveScope, until: number): Promise<void> {
    const from = until - (CATCH_UP + 12) * BUCKET_MS;
    for (const [subject, pts] of bySubject(await o.source.series(scope, from, until))) {
      const s = get(scope, subject);
      const first = Math.min(...pts.map((p) => p.bucket));
      if (s.firstBucket === undefined || (s.lastBucket !== undefined && first - s.lastBucket > maxGapMs)) s.firstBucket = first;
      s.lastBucket = Math.max(s.lastBucket ?? 0, ...pts.map((p) => p.bucket));
      if (!s.model || !s.alerts) continue;
      const series = selectColumns(rollupSeries(pts, from, until), s.model.det.meta.scaler.inputNames);
      maskTraining(series);
      const W = s.model.det.meta.window;
      for (let i = W - 1; i < series.ts.length; i++) {
        const ts = series.ts[i];
        if (s.lastScored !== undefined && ts <= s.lastScored) continue;
        if (duringTraining(ts)) {
          counters.windows_skipped_training++;
          s.lastScored = ts;
          continue;
        }
        const w = s.model.det.score(sliceSeries(series, i - W + 1, i + 1));
        counters.windows_scored++;
        s.lastScored = ts;
        if (Number.isFinite(w.score)) s.lastScore = w.score;
        const rec = s.alerts.push(w);
        if (!rec) continue;
        if (rec.state === 'resolved') s.excluded.push([rec.opened_at - W * BUCKET_MS, rec.resolved_at ?? ts]);
        await write(rec);
        if (rec.state === 'resolved' && s.pending) install(s, s.pending);
      }
    }
  }

  function wantsTraining(s: Subject, t: number): boolean {
    if (s.queued || t < s.retryAt || s.firstBucket === undefined || s.lastBucket === undefined) return false;
    if (!s.model) return s.lastBucket + BUCKET_MS - s.firstBucket >= o.trainAfterMs;
    return t - (s.trainedAt ?? 0) >= o.retrainEveryMs;
  }

  function enqueue(s: Subject): void {
    if (s.queued) return;
    s.queued = true;
    queue.push(s);
    running ??= drain().finally(() => { running = null; });
  }

  async function drain(): Promise<void> {
    for (let s = queue.shift(); s && !closed; s = queue.shift()) {
      try {
        await train(s);
      } catch (e) {
        counters.training_errors++;
        s.retryAt = now() + 60_000;
        o.log(`models: training ${s.scope} ${s.subject} failed: ${(e as Error).message}`);
      } finally {
        s.queued = false;
      }
    }
  }

  async function train(s: Subject): Promise<void> {
    const until = completeUntil();
    const from = Math.max(s.firstBucket ?? until - trainHistoryMs, until - trainHistoryMs);
    const pts = (await o.source.series(s.scope, from, until)).filter((p: RollupPoint) => p.subject === s.subject);
    const series = selectColumns(rollupSeries(pts, from, until), liveColumns(until - from));
    for (const [a, b] of s.excluded) series.rows.forEach((r, i) => { if (series.ts[i] >= a && series.ts[i] <= b) r.fill(NaN); });
    maskTraining(series);
    const rows = series.rows.filter((r) => r[0] > 0).length;
    if (rows < o.minHistoryRows) {
      s.retryAt = now() + 60_000;
      o.log(`models: ${s.scope} ${s.subject} has ${rows} buckets with traffic, training needs ${o.minHistoryRows}; waiting`);
      return;
    }
    const window = o.train?.window ?? Math.max(4, Math.min(12, Math.floor(series.rows.length / 20)));
    if (series.rows.length < 20 * window) {
      s.retryAt = now() + 60_000;
      o.log(`models: ${s.scope} ${s.subject} has ${series.rows.length} buckets, a window of ${window} needs ${20 * window}; waiting`);
      return;
    }
    const stride = o.train?.stride ?? Math.max(1, Math.round(series.rows.length / 1500));
    const dir = subjectDir(o.modelDir, s.scope, s.subject);
    await rm(`${dir}.new`, { recursive: true, force: true });
    const job = trainInWorker({ series, dir: `${dir}.new`, options: { seed: 1, ...o.train, window, stride, subject: display(s.subject) } });
    cancelTraining = job.cancel;
    const started = now();
    const r = await job.done.finally(() => {
      cancelTraining = null;
      // Spans older than any window or training run can read are dropped.
      while (trainingSpans.length > 0 && trainingSpans[0][1] < now() - trainHistoryMs) trainingSpans.shift();
      trainingSpans.push([started, now()]);
    });
    const m = await installModel(`${dir}.new`, dir, { scope: s.scope, subject: s.subject, version: modelVersion(r.trainedAt) });
    counters.trainings++;
    counters.last_training_ms = Math.round(r.ms);
    o.log(`models: trained ${s.scope} ${s.subject} in ${(r.ms / 1000).toFixed(1)} s (${r.backend}, nice ${r.nice}, ${r.rows} buckets, window ${window}, ` +
      `${r.epochs} epochs, threshold ${r.threshold.toFixed(3)}), version ${m.version}`);
    if (s.alerts?.open) s.pending = m; else install(s, m);
    // The model has seen everything up to its training end: score from there on.
    s.lastScored = Math.max(s.lastScored ?? 0, m.det.meta.training.toTs);
  }

  let ticking: Promise<void> | null = null;
  async function tick(): Promise<void> {
    if (closed) return;
    if (ticking) return ticking;
    ticking = (async () => {
      counters.ticks++;
      try {
        if (!probed) { await probeHistory(); probed = true; }
        const until = completeUntil();
        for (const scope of scopes) await scoreScope(scope, until);
      } catch (e) {
        counters.source_errors++;
        o.log(`models: reading rollups failed: ${(e as Error).message}`);
      }
      const t = now();
      for (const s of subjects.values()) if (wantsTraining(s, t)) enqueue(s);
    })().finally(() => { ticking = null; });
    return ticking;
  }

  const tickMs = o.tickMs ?? 10_000;
  let timer: NodeJS.Timeout | null = null;
  const schedule = () => {
    if (closed || tickMs <= 0) return;
    timer = setTimeout(() => { void tick().finally(schedule); }, tickMs);
  };
  schedule();

  return {
    tick,
    retrain(subject) {
      const picked = [...subjects.values()].filter((s) => (subject === undefined || s.subject === subject) && s.lastBucket !== undefined);
      for (const s of picked) { s.retryAt = 0; enqueue(s); }
      return picked.map((s) => keyOf(s.scope, s.subject));
    },
    async idle() { while (running) await running; },
    status: () => [...subjects.values()].map((s) => ({
      scope: s.scope, subject: s.subject, model_version: s.model?.version ?? null, history_from: s.firstBucket ?? null,
      last_scored: s.lastScored ?? null, last_score: s.lastScore ?? null, threshold: s.model?.det.threshold ?? null,
      alert_open: Boolean(s.alerts?.open), training: s.queued,
    })),
    counters: () => ({ ...counters }),
    trainingSpans: () => trainingSpans.map(([a, b]) => [a, b]),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      queue.length = 0;
      await cancelTraining?.();
      await ticking?.catch(() => {});
      await running?.catch(() => {});
    },
  };
}
