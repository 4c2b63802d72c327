// The data-plane decisions taken on one request (TAP_FLAGS, ingest's tap
// schema), kept as bits on the request context while it runs and written
// into its l7.request tap as names (`flags: "retried,ejected"`).

import { TAP_FLAGS, type TapFlag } from '../../ingest/index.ts';

const BIT = Object.fromEntries(TAP_FLAGS.map((f, i) => [f, 1 << i])) as Record<TapFlag, number>;

/** Records that `f` was decided on this request. */
export function flag(ctx: { flags?: number }, f: TapFlag): void {
  ctx.flags = (ctx.flags ?? 0) | BIT[f];
}

export const hasFlag = (ctx: { flags?: number }, f: TapFlag): boolean => ((ctx.flags ?? 0) & BIT[f]) !== 0;

/** The tap's `flags`: the names set in `mask`, in TAP_FLAGS order; '' for none. */
export function flagNames(mask: number): string {
  let out = '';
  for (let i = 0; i < TAP_FLAGS.length; i++) if (mask & (1 << i)) out += out === '' ? TAP_FLAGS[i] : `,${TAP_FLAGS[i]}`;
  return out;
}
