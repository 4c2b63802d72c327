// Where the live detector keeps its models: `<modelDir>/<scope>/<subject>/`
// (subject URI-encoded, so "cart→payments" is a safe directory name), each
// holding the detector's files (model.json, weights.bin, detector.json) and
// live.json naming scope, subject and model version. A new model is trained
// into `<dir>.new` and renamed over the old one, so a crash mid-training
// never leaves a half-written model where a restart would load it.

import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDetector, type Detector } from './detector.ts';
import type { LiveScope } from './live-types.ts';

export interface LiveModelInfo { scope: LiveScope; subject: string; version: string }
export interface LiveModel extends LiveModelInfo { det: Detector; dir: string }

export function subjectDir(modelDir: string, scope: LiveScope, subject: string): string {
  return join(modelDir, scope, encodeURIComponent(subject));
}

/** "2026-11-29T03:47:12.345Z" → "m20261129-034712": short, sortable, shown on every alert. */
export function modelVersion(trainedAt: string): string {
  return 'm' + trainedAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Renames a freshly trained `<dir>.new` over `dir`, records its info, and loads it. */
export async function installModel(tmpDir: string, dir: string, info: LiveModelInfo): Promise<LiveModel> {
  await writeFile(join(tmpDir, 'live.json'), JSON.stringify(info));
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, '..'), { recursive: true });
  await rename(tmpDir, dir);
  return { ...info, det: await loadDetector(dir), dir };
}

/** Every model saved under modelDir; one that fails to load is reported and skipped (it will be retrained). */
export async function loadLiveModels(modelDir: string, log: (line: string) => void): Promise<LiveModel[]> {
  const out: LiveModel[] = [];
  for (const scope of ['service', 'edge'] as const) {
    let names: string[];
    try {
      names = await readdir(join(modelDir, scope));
    } catch {
      continue; // no models of this scope yet
    }
    for (const name of names.filter((n) => !n.endsWith('.new'))) {
      const dir = join(modelDir, scope, name);
      try {
        const info = JSON.parse(await readFile(join(dir, 'live.json'), 'utf8')) as LiveModelInfo;
        out.push({ ...info, det: await loadDetector(dir), dir });
      } catch (e) {
        log(`models: cannot load ${dir}: ${(e as Error).message}; it will be retrained`);
      }
    }
  }
  return out;
}
