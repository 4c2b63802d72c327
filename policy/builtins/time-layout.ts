/**
 * Go reference-time layouts ("2006-01-02T15:04:05Z07:00"), which OPA's
 * time.format and time.parse_ns take: a layout is split into the chunks Go's
 * time package knows, every other character is literal.
 */

export interface Civil { year: number; month: number; day: number; hour: number; min: number; sec: number; nanos: number; weekday: number; yday: number; offsetSec: number; zone: string }

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// Longest first where one chunk is a prefix of another (Go's nextStdChunk order).
const CHUNKS = ['January', 'Jan', 'Monday', 'Mon', 'MST', '2006', 'Z07:00:00', 'Z070000', 'Z07:00', 'Z0700', 'Z07', '-07:00:00', '-070000', '-07:00', '-0700', '-07',
  '002', '_2', '01', '02', '03', '04', '05', '06', '15', 'PM', 'pm', '1', '2', '3', '4', '5'];

export type Chunk = { lit: string } | { std: string } | { frac: string };

export function chunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  for (let i = 0; i < layout.length;) {
    const f = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (f && /5$/.test(layout.slice(0, i))) { if (lit) out.push({ lit }), lit = ''; out.push({ frac: f[0] }); i += f[0].length; continue; }
    const c = CHUNKS.find((k) => layout.startsWith(k, i));
    if (c) { if (lit) out.push({ lit }), lit = ''; out.push({ std: c }); i += c.length; continue; }
    lit += layout[i++];
  }
  if (lit) out.push({ lit });
  return out;
}

export function daysIn(year: number, month: number): number {
  return [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

const pad = (n: number, w: number, ch = '0') => String(Math.abs(n)).padStart(w, ch);

function zone(off: number, colon: boolean, secs: boolean, short: boolean, z: boolean): string {
  if (z && off === 0) return 'Z';
  const s = off < 0 ? '-' : '+', a = Math.abs(off), h = Math.floor(a / 3600), m = Math.floor((a % 3600) / 60), sec = a % 60;
  if (short) return s + pad(h, 2);
  return s + pad(h, 2) + (colon ? ':' : '') + pad(m, 2) + (secs ? (colon ? ':' : '') + pad(sec, 2) : '');
}

export function formatCivil(t: Civil, layout: string): string {
  let out = '';
  for (const c of chunks(layout)) {
    if ('lit' in c) { out += c.lit; continue; }
    if ('frac' in c) {
      const digits = c.frac.length - 1, ns = pad(t.nanos, 9).slice(0, digits);
      out += c.frac[1] === '0' ? c.frac[0] + ns : (ns.replace(/0+$/, '') ? c.frac[0] + ns.replace(/0+$/, '') : '');
      continue;
    }
    const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
    const z = c.std.startsWith('Z');
    out += ({
      January: () => MONTHS[t.month - 1], Jan: () => MONTHS[t.month - 1].slice(0, 3), Monday: () => DAYS[t.weekday], Mon: () => DAYS[t.weekday].slice(0, 3),
      MST: () => t.zone, '2006': () => pad(t.year, 4), '06': () => pad(t.year % 100, 2), '01': () => pad(t.month, 2), '1': () => String(t.month),
      '02': () => pad(t.day, 2), '2': () => String(t.day), _2: () => pad(t.day, 2, ' '), '002': () => pad(t.yday, 3),
      '15': () => pad(t.hour, 2), '03': () => pad(h12, 2), '3': () => String(h12), '04': () => pad(t.min, 2), '4': () => String(t.min),
      '05': () => pad(t.sec, 2), '5': () => String(t.sec), PM: () => (t.hour >= 12 ? 'PM' : 'AM'), pm: () => (t.hour >= 12 ? 'pm' : 'am'),
    } as Record<string, () => string>)[c.std]?.() ?? zone(t.offsetSec, c.std.includes(':'), /0000$|00:00$/.test(c.std), c.std.endsWith('07'), z);
  }
  return out;
}

/** Parses value against layout; undefined when it does not match. Fields missing from the layout default as in Go (year 0 → 1). */
export function parseLayout(layout: string, value: string): Omit<Civil, 'weekday' | 'yday' | 'zone'> | undefined {
  const t = { year: 1, month: 1, day: 1, hour: 0, min: 0, sec: 0, nanos: 0, offsetSec: 0 };
  let pm: boolean | undefined;
  let s = value;
  const take = (re: RegExp): string | undefined => { const m = re.exec(s); if (!m) return undefined; s = s.slice(m[0].length); return m[0]; };
  for (const c of chunks(layout)) {
    if ('lit' in c) { if (!s.startsWith(c.lit)) return undefined; s = s.slice(c.lit.length); continue; }
    if ('frac' in c) { const f = take(/^[.,]\d+/); if (f === undefined) { if (c.frac[1] === '0') return undefined; continue; } t.nanos = Number(f.slice(1).padEnd(9, '0').slice(0, 9)); continue; }
    let v: string | undefined;
    switch (c.std) {
      case 'January': case 'Jan': { const names = c.std === 'Jan' ? MONTHS.map((m) => m.slice(0, 3)) : MONTHS; const i = names.findIndex((m) => s.toLowerCase().startsWith(m.toLowerCase())); if (i < 0) return undefined; s = s.slice(names[i].length); t.month = i + 1; break; }
      case 'Monday': case 'Mon': { const names = c.std === 'Mon' ? DAYS.map((d) => d.slice(0, 3)) : DAYS; const i = names.findIndex((d) => s.toLowerCase().startsWith(d.toLowerCase())); if (i < 0) return undefined; s = s.slice(names[i].length); break; }
      case 'MST': if (take(/^(UTC|[A-Z]{3,5})/) === undefined) return undefined; break;
      case '2006': if ((v = take(/^\d{4}/)) === undefined) return undefined; t.year = Number(v); break;
      case '06': if ((v = take(/^\d{2}/)) === undefined) return undefined; t.year = Number(v) + (Number(v) >= 69 ? 1900 : 2000); break;
      case '01': case '1': if ((v = take(c.std === '01' ? /^\d{2}/ : /^\d{1,2}/)) === undefined) return undefined; t.month = Number(v); break;
      case '02': case '2': case '_2': if ((v = take(c.std === '02' ? /^\d{2}/ : /^ ?\d{1,2}/)) === undefined) return undefined; t.day = Number(v); break;
      case '002': if (take(/^\d{3}/) === undefined) return undefined; break;
      case '15': if ((v = take(/^\d{1,2}/)) === undefined) return undefined; t.hour = Number(v); break;
      case '03': case '3': if ((v = take(c.std === '03' ? /^\d{2}/ : /^\d{1,2}/)) === undefined) return undefined; t.hour = Number(v); break;
      case '04': case '4': if ((v = take(c.std === '04' ? /^\d{2}/ : /^\d{1,2}/)) === undefined) return undefined; t.min = Number(v); break;
      case '05': case '5': {
        if ((v = take(c.std === '05' ? /^\d{2}/ : /^\d{1,2}/)) === undefined) return undefined;
        t.sec = Number(v);
        // Go accepts a fractional second after the seconds field even when the layout has none.
        const f = /^[.,](\d+)/.exec(s);
        if (f && !/^[.,][09]/.test(layout.slice(layout.indexOf(c.std) + c.std.length))) { t.nanos = Number(f[1].padEnd(9, '0').slice(0, 9)); s = s.slice(f[0].length); }
        break;
      }
      case 'PM': case 'pm': if ((v = take(/^(AM|PM|am|pm)/)) === undefined) return undefined; pm = v.toUpperCase() === 'PM'; break;
      default: {
        if (c.std.startsWith('Z') && s.startsWith('Z')) { s = s.slice(1); t.offsetSec = 0; break; }
        const m = take(/^[+-]\d{2}(:?\d{2}(:?\d{2})?)?/);
        if (m === undefined) return undefined;
        const d = m.slice(1).replace(/:/g, '');
        t.offsetSec = (m[0] === '-' ? -1 : 1) * (Number(d.slice(0, 2)) * 3600 + Number(d.slice(2, 4) || 0) * 60 + Number(d.slice(4, 6) || 0));
      }
    }
  }
  if (s !== '') return undefined;
  if (pm !== undefined) { if (t.hour > 12) return undefined; if (pm && t.hour < 12) t.hour += 12; if (!pm && t.hour === 12) t.hour = 0; }
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > daysIn(t.year, t.month) || t.hour > 23 || t.min > 59 || t.sec > 59) return undefined;
  return t;
}
