/**
 * time.* builtins. Times are nanoseconds since the Unix epoch (doubles here:
 * beyond 2^53 they lose their last digits, see README's number note); a time
 * argument may be `ns` or `[ns, tz]` with tz "", "UTC", "Local" or an IANA
 * name, as in OPA. Calendar arithmetic follows Go's time package.
 */
import { type Value } from '../value.ts';
import { arr, BuiltinError, int, num, str, type BuiltinDef } from './types.ts';
import { type Civil, formatCivil, parseLayout, daysIn } from './time-layout.ts';

const MIN_NS = -(2n ** 63n), MAX_NS = 2n ** 63n - 1n;

const LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006', UnixDate: 'Mon Jan _2 15:04:05 MST 2006', RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST', RFC822Z: '02 Jan 06 15:04 -0700', RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST', RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700', RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00', Kitchen: '3:04PM', Stamp: 'Jan _2 15:04:05', StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000', StampNano: 'Jan _2 15:04:05.000000000', DateTime: '2006-01-02 15:04:05', DateOnly: '2006-01-02', TimeOnly: '15:04:05',
};

/** UTC offset in seconds of tz at the instant ms. */
function offsetOf(fn: string, tz: string, ms: number): number {
  if (tz === '' || tz === 'UTC') return 0;
  if (tz === 'Local') return -new Date(ms).getTimezoneOffset() * 60;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short' }).formatToParts(new Date(ms));
  } catch { throw new BuiltinError(fn, `unknown time zone ${tz}`); }
  const p = (t: string) => Number(parts.find((x) => x.type === t)!.value);
  const bc = parts.find((x) => x.type === 'era')?.value.startsWith('B');
  const d = new Date(0);
  d.setUTCFullYear(bc ? 1 - p('year') : p('year'), p('month') - 1, p('day'));
  d.setUTCHours(p('hour'), p('minute'), p('second'), 0);
  return Math.round((d.getTime() - (ms - (((ms % 1000) + 1000) % 1000))) / 1000);
}

function timeArg(fn: string, v: Value): [number, string] {
  if (typeof v === 'number') return [v, 'UTC'];
  const a = arr(fn, v, 1);
  if (a.length < 1 || a.length > 3) throw new BuiltinError(fn, 'operand 1 must be number or array of 2 or 3 elements');
  return [num(fn, a[0], 1), a.length > 1 ? str(fn, a[1], 1) : 'UTC'];
}

export function civil(fn: string, ns: number, tz: string): Civil {
  const ms = Math.floor(ns / 1e6);
  const off = offsetOf(fn, tz, ms);
  const d = new Date(ms + off * 1000);
  const start = new Date(0); start.setUTCFullYear(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), min: d.getUTCMinutes(), sec: d.getUTCSeconds(),
    nanos: ((ns % 1e9) + 1e9) % 1e9, weekday: d.getUTCDay(), yday: Math.floor((d.getTime() - start.getTime()) / 864e5) + 1, offsetSec: off,
    zone: tz === '' || tz === 'UTC' ? 'UTC' : new Intl.DateTimeFormat('en-US', { timeZone: tz === 'Local' ? undefined : tz, timeZoneName: 'short' }).formatToParts(new Date(ms)).find((x) => x.type === 'timeZoneName')?.value ?? tz,
  };
}

/** Exact nanoseconds for a civil time at a fixed offset. */
function epochNs(t: { year: number; month: number; day: number; hour: number; min: number; sec: number; nanos: number; offsetSec: number }): bigint {
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.min, t.sec, 0);
  return (BigInt(d.getTime()) / 1000n - BigInt(t.offsetSec)) * 1_000_000_000n + BigInt(t.nanos);
}

function inRange(fn: string, ns: bigint): number {
  if (ns < MIN_NS || ns > MAX_NS) throw new BuiltinError(fn, 'time outside of valid range');
  return Number(ns);
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseDuration(fn: string, s: string): number {
  const bad = () => new BuiltinError(fn, `time: invalid duration ${JSON.stringify(s)}`);
  let rest = s, sign = 1;
  if (rest[0] === '-' || rest[0] === '+') { sign = rest[0] === '-' ? -1 : 1; rest = rest.slice(1); }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest) {
    const m = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') throw bad();
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}

const tzTime = (fn: string, f: (c: Civil) => Value): BuiltinDef => ({ arity: 1, fn: ([a]) => { const [ns, tz] = timeArg(fn, a); return f(civil(fn, ns, tz)); } });

export const timeBuiltins: Record<string, BuiltinDef> = {
  'time.parse_rfc3339_ns': {
    arity: 1,
    fn: ([a]) => {
      const s = str('time.parse_rfc3339_ns', a, 1);
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
      const t = m && parseLayout('2006-01-02T15:04:05Z07:00', s.replace(/\.\d+/, ''));
      if (!m || !t) throw new BuiltinError('time.parse_rfc3339_ns', `parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
      return inRange('time.parse_rfc3339_ns', epochNs({ ...t, nanos: Number((m[7] ?? '').padEnd(9, '0')) }));
    },
  },
  'time.parse_ns': {
    arity: 2,
    fn: ([l, v]) => {
      const layout = str('time.parse_ns', l, 1), value = str('time.parse_ns', v, 2);
      const t = parseLayout(LAYOUTS[layout] ?? layout, value);
      if (!t) throw new BuiltinError('time.parse_ns', `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse`);
      return inRange('time.parse_ns', epochNs(t));
    },
  },
  'time.parse_duration_ns': { arity: 1, fn: ([a]) => parseDuration('time.parse_duration_ns', str('time.parse_duration_ns', a, 1)) },
  'time.date': tzTime('time.date', (c) => [c.year, c.month, c.day]),
  'time.clock': tzTime('time.clock', (c) => [c.hour, c.min, c.sec]),
  'time.weekday': tzTime('time.weekday', (c) => ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][c.weekday]),
  'time.format': {
    arity: 1,
    fn: ([a]) => {
      const [ns, tz] = timeArg('time.format', a);
      const layout = Array.isArray(a) && a.length === 3 ? str('time.format', a[2], 1) : 'RFC3339Nano';
      return formatCivil(civil('time.format', ns, tz), LAYOUTS[layout] ?? layout);
    },
  },
  // Go's AddDate: years, months and days are added to the UTC calendar date, then normalised (Oct 31 + 1 month = Dec 1).
  'time.add_date': {
    arity: 4,
    fn: ([t, y, mo, d]) => {
      const c = civil('time.add_date', num('time.add_date', t, 1), 'UTC');
      const ns = epochNs({ ...c, year: c.year + int('time.add_date', y, 2), month: c.month + int('time.add_date', mo, 3), day: c.day + int('time.add_date', d, 4), offsetSec: 0 });
      return inRange('time.add_date', ns);
    },
  },
  'time.diff': {
    arity: 2,
    fn: ([x, y]) => {
      const [n1, tz1] = timeArg('time.diff', x), [n2] = timeArg('time.diff', y);
      let [a, b] = [civil('time.diff', n1, tz1), civil('time.diff', n2, tz1)];
      if (n1 > n2) [a, b] = [b, a];
      let year = b.year - a.year, month = b.month - a.month, day = b.day - a.day, hour = b.hour - a.hour, min = b.min - a.min, sec = b.sec - a.sec;
      if (sec < 0) { sec += 60; min--; }
      if (min < 0) { min += 60; hour--; }
      if (hour < 0) { hour += 24; day--; }
      if (day < 0) { day += daysIn(a.year, a.month); month--; }
      if (month < 0) { month += 12; year--; }
      return [year, month, day, hour, min, sec];
    },
  },
};
