import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTuningConfig } from './tuning-config.ts';

const file = (t: { after(fn: () => void): void }, body: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-tuning-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'c.json'), body);
  return join(dir, 'c.json');
};

test('a tuning config sets windows and bounds over the defaults, lag in seconds', (t) => {
  const s = readTuningConfig(file(t, JSON.stringify({ recent_s: 20, lag_s: 5, watch_s: 20, bounds: { cooldown_s: 30, eject_base_s: 40 } })));
  assert.deepEqual([s.recentS, s.lagMs, s.watchS, s.baselineS], [20, 5000, 20, 600]);
  assert.deepEqual([s.bounds.cooldownS, s.bounds.ejectBaseS, s.bounds.maxShiftStep], [30, 40, 50]);
});

test('a tuning config names every unknown key and out-of-range value, and takes none of it', (t) => {
  const path = file(t, JSON.stringify({ recent_s: 1, lagg_s: 5, bounds: { cooldown: 3, max_replicas: 2, min_replicas: 5, max_ejected_share: 'half', eject_base_s: 10 } }));
  assert.throws(() => readTuningConfig(path), (e: Error) => {
    assert.match(e.message, /recent_s: must be a number in 10\.\.3600, got 1/);
    assert.match(e.message, /lagg_s: unknown \(known: recent_s, baseline_s, lag_s, watch_s, approval_ttl_s, bounds\)/);
    assert.match(e.message, /bounds\.cooldown: unknown/);
    assert.match(e.message, /bounds\.max_ejected_share: must be a number in 0\.\.1, got "half"/);
    assert.match(e.message, /min_replicas 5 is above max_replicas 2/);
    assert.match(e.message, /bounds\.eject_base_s: must be a number in 25\.\.86400, got 10/, 'an ejection too short to verify');
    return true;
  });
});
