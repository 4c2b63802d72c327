// The tap explorer around one stored tap: the taps its proxy recorded just
// before and just after it, newest first like the table always is. The API
// reads newest first within a time range, so "before" is one read up to and
// including the tap's millisecond, and "after" the oldest of a short range
// after it (a tap of a busy proxy may have thousands after it within seconds).

import type { TapPointer } from './page-route.ts';

/** Taps shown on each side of the one pointed at. */
export const TAPS_AROUND = 12;
/** How far past the tap "after" looks. */
export const AFTER_MS = 10_000;
const AFTER_READ = 1000;

/** The two /api/taps paths: [before (with the tap itself), after]. */
export function tapContextPaths(p: TapPointer): [string, string] {
  const proxy = encodeURIComponent(p.proxy);
  return [
    `/api/taps?proxy=${proxy}&until=${p.ts + 1}&limit=${TAPS_AROUND + 1}`,
    `/api/taps?proxy=${proxy}&since=${p.ts + 1}&until=${p.ts + 1 + AFTER_MS}&limit=${AFTER_READ}`,
  ];
}

/** The rows to show, newest first: the TAPS_AROUND oldest of `after`, then `before`. */
export function tapContextRows<T>(before: readonly T[], after: readonly T[]): T[] {
  return [...after.slice(-TAPS_AROUND), ...before];
}

/** Whether a tap row is the one pointed at. */
export function isPointedTap(tap: Record<string, unknown>, p: TapPointer | null): boolean {
  return p !== null && tap.proxy === p.proxy && Number(tap.seq) === p.seq && Number(tap.ts) === p.ts;
}
