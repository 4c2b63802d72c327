// A JSON array line as sidecars write it, split into its values without
// making them (./tap-line-rows.ts reads event lines this way): the plain
// subset only, printable ASCII without backslash or whitespace, strings,
// canonical numbers (-?(0|[1-9][0-9]*)(\.[0-9]+)?), null, and flat objects
// of such strings. Whatever it accepts is valid JSON whose values are
// these bytes; anything else is "not plain" (-1), for the caller to read
// with JSON.parse.

const QUOTE = 0x22, COMMA = 0x2c, MINUS = 0x2d, DOT = 0x2e, ZERO = 0x30, NINE = 0x39, COLON = 0x3a;
const OPEN = 0x5b, CLOSE = 0x5d, BRACE = 0x7b, END_BRACE = 0x7d, BACKSLASH = 0x5c;
/** What a value is. */
export const T_STRING = 1, T_NUMBER = 2, T_NULL = 3, T_OBJECT = 4;
/** Most values on a line (a longer line is not plain). */
export const MAX_VALUES = 64;
/** Longest integer read here (15 digits is always a safe integer). */
const MAX_DIGITS = 15;

// The values of the last line scanned (one line at a time, reused: no garbage per line), by position: type, and where its bytes are (a string's without the quotes).
export const valueType = new Uint8Array(MAX_VALUES);
export const valueFrom = new Int32Array(MAX_VALUES);
export const valueTo = new Int32Array(MAX_VALUES);

/** Whether buf[s, e) holds exactly `want`. */
export const sameBytes = (buf: Buffer, s: number, e: number, want: Buffer) => {
  if (e - s !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[s + i] !== want[i]) return false;
  return true;
};

/** End of a plain string whose opening quote is at `i` - 1 (its closing quote), or -1. */
function stringEnd(buf: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const b = buf[i];
    if (b === QUOTE) return i;
    if (b < 0x20 || b > 0x7e || b === BACKSLASH) return -1;
  }
  return -1;
}

/** End of a canonical JSON number starting at `i` (-?(0|[1-9][0-9]*)(\.[0-9]+)?), or -1. */
function numberEnd(buf: Buffer, i: number, end: number): number {
  if (buf[i] === MINUS) i++;
  if (buf[i] === ZERO) i++;
  else if (buf[i] > ZERO && buf[i] <= NINE) while (i < end && buf[i] >= ZERO && buf[i] <= NINE) i++;
  else return -1;
  if (buf[i] === DOT) {
    const d = ++i;
    while (i < end && buf[i] >= ZERO && buf[i] <= NINE) i++;
    if (i === d) return -1;
  }
  return i;
}

/** End of a flat object of plain strings ({"k":"v",…}) starting at `i`, or -1. */
function objectEnd(buf: Buffer, i: number, end: number): number {
  i++;
  if (buf[i] === END_BRACE) return i + 1;
  for (;;) {
    if (buf[i] !== QUOTE) return -1;
    i = stringEnd(buf, i + 1, end);
    if (i < 0 || buf[i + 1] !== COLON || buf[i + 2] !== QUOTE) return -1;
    i = stringEnd(buf, i + 3, end);
    if (i < 0) return -1;
    i++;
    if (buf[i] === END_BRACE) return i + 1;
    if (buf[i] !== COMMA) return -1;
    i++;
  }
}

/** Splits the line buf[i, end) into values (valueType, valueFrom, valueTo); their number, or -1 when it is not a plain line. */
export function scanLine(buf: Buffer, i: number, end: number): number {
  if (buf[i] !== OPEN) return -1;
  i++;
  let n = 0;
  for (;;) {
    if (n === MAX_VALUES) return -1;
    const c = buf[i];
    if (c === QUOTE) {
      const e = stringEnd(buf, i + 1, end);
      if (e < 0) return -1;
      valueType[n] = T_STRING; valueFrom[n] = i + 1; valueTo[n] = e;
      i = e + 1;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const e = numberEnd(buf, i, end);
      if (e < 0) return -1;
      valueType[n] = T_NUMBER; valueFrom[n] = i; valueTo[n] = e;
      i = e;
    } else if (c === 0x6e && buf[i + 1] === 0x75 && buf[i + 2] === 0x6c && buf[i + 3] === 0x6c) { // null
      valueType[n] = T_NULL;
      i += 4;
    } else if (c === BRACE) {
      const e = objectEnd(buf, i, end);
      if (e < 0) return -1;
      valueType[n] = T_OBJECT; valueFrom[n] = i; valueTo[n] = e;
      i = e;
    } else {
      return -1;
    }
    n++;
    if (buf[i] === COMMA) { i++; continue; }
    if (buf[i] === CLOSE && i + 1 === end) return n;
    return -1;
  }
}

/** The integer of digits buf[s, e) (no sign), or -1 past MAX_DIGITS. */
export function digits(buf: Buffer, s: number, e: number): number {
  if (e - s > MAX_DIGITS) return -1;
  let v = 0;
  for (let i = s; i < e; i++) v = v * 10 + (buf[i] - ZERO);
  return v;
}

/** A non-negative decimal of up to 3 places as thousandths (12.34 -> 12340), or -1. */
export function floatMillis(buf: Buffer, s: number, e: number): number {
  let dot = e;
  for (let i = s; i < e; i++) if (buf[i] === DOT) { dot = i; break; }
  const places = dot === e ? 0 : e - dot - 1;
  if (places > 3 || dot - s > MAX_DIGITS - 3) return -1;
  let v = digits(buf, s, dot);
  for (let i = 0; i < 3; i++) v = v * 10 + (i < places ? buf[dot + 1 + i] - ZERO : 0);
  return v;
}

