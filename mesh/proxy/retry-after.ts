// The `retry-after` of an upstream's 503 or 429 (RFC 9110 §10.2.3): how long
// the upstream asks callers to wait before sending again, as delay-seconds
// ("120") or an HTTP-date. The retry stage waits that long instead of its
// own backoff when it is short, and does not retry at all when it is long
// (stages/retry.ts says which is which).

/** The largest delay read; anything longer is as good as "not in this request's life". */
const MAX_MS = 24 * 3600 * 1000;

/** Milliseconds to wait from `now` (epoch ms), or undefined for a value that is neither form (it is then ignored). */
export function retryAfterMs(value: string, now: number): number | undefined {
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Math.min(Number(v) * 1000, MAX_MS);
  // An HTTP-date names a weekday and GMT; Date.parse would take far looser text ("1", "tomorrow" in some engines).
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - now), MAX_MS) : undefined;
}

/** The first retry-after value in a raw [name, value, …] header list (HTTP/1.1 response heads). */
export function retryAfterIn(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 11 && raw[i].toLowerCase() === 'retry-after') return raw[i + 1];
  return undefined;
}
