/**
 * What a replay could not know, in words, with its counts: the headers the
 * taps never keep or kept only sometimes, cut paths, requests no policy
 * decided, and what the baseline was. Said, never guessed around.
 */
import { FORBIDDEN_HEADERS } from '../ingest/index.ts';
import type { AuthzPolicy } from './authz-bundle.ts';

export interface NoteFacts {
  evaluated: number;
  total: number;
  truncated: boolean;
  headerAllow: readonly string[];
  /** Requests whose rebuilt input carried each header. */
  headersSeen: ReadonlyMap<string, number>;
  /** Requests the tap recorded with decision 'none' or none at all. */
  undecided: number;
  /** Paths at the tap's 2048-character cut. */
  longPaths: number;
  current: AuthzPolicy | null;
  disagreements: number;
}

export function replayNotes(f: NoteFacts): string[] {
  const notes: string[] = [];
  notes.push(f.current
    ? `Compared with the policy enforced now (bundle ${f.current.digest.slice(0, 12)}), evaluated on the same rebuilt inputs; `
      + `it decides ${f.disagreements} of the ${f.evaluated} requests otherwise than their taps recorded (a policy change during the period, or inputs the taps did not keep, below).`
    : 'Compared with the decision each tap recorded, which is what happened; no policy was re-evaluated for the baseline.');
  if (f.truncated) notes.push(`Cut short: ${f.evaluated} of the period's ${f.total} inbound requests were evaluated.`);
  for (const h of f.headerAllow) {
    const n = f.headersSeen.get(h) ?? 0;
    if (FORBIDDEN_HEADERS.has(h)) {
      notes.push(`Header "${h}" is never recorded in taps (a secret): input.request.headers["${h}"] is absent in every replayed request, whatever the live request carried; a rule that reads it decides here as if the header were missing.`);
    } else {
      notes.push(`Header "${h}" is in ${n} of ${f.evaluated} replayed requests: a tap keeps a header only when the tap capture allow-list names it, and at most 256 characters of it, so where it is absent the request may have carried it all the same.`);
    }
  }
  notes.push('Headers outside the sidecars\' policy header allow-list are not in the input document live either; the list assumed here is '
    + `${f.headerAllow.length ? f.headerAllow.map((h) => `"${h}"`).join(', ') : 'empty'} (--policy-header-allow).`);
  if (f.longPaths) notes.push(`${f.longPaths} request paths reached the tap's 2048-character cut: the draft saw them cut.`);
  if (f.undecided) notes.push(`${f.undecided} requests were recorded with no policy decision (none: no policy configured, or it failed open); they went through, so they count as allowed.`);
  notes.push('Time builtins (time.now_ns) answer the time of the replay, not of the request.');
  return notes;
}
