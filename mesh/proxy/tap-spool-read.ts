// Reading a spool file (./tap-spool-format.ts) left by an earlier sidecar
// process: where its stream's chain stood, the frame it had in flight and
// the taps it had not sealed yet. Damage is expected (a kill -9 or a
// machine crash can tear the last record; a disk can corrupt one): a bad
// record is dropped, counted and named, never thrown.
//
// What a dropped record costs:
// - a torn or unreadable event line, or an unknown tag: one tap, counted lost;
// - an unreadable `d` record: its count is unknown, one tap is counted;
// - a torn frame record: nothing: the frame is written before it is
//   published, so a torn one was never sent, and its taps' event lines are
//   still there and get sealed again;
// - a frame in flight that does not decode (or does not continue the
//   checkpoint's chain): its taps, counted lost, as a rejection would be;
// - an unreadable `a` or `r` record: nothing: the frame is sent again, and
//   the collector answers it as a duplicate (or refuses it again).

import { readFileSync } from 'node:fs';
import { checkLine, decodeBatch, eventLine, validateTap, type TapBatch, type TapEvent } from '../../ingest/index.ts';
import { SPOOL_VERSION, type SpoolCheckpoint } from './tap-spool-format.ts';

export interface RecoveredStream {
  file: string;
  /** The chain after the records: next batch, prev_hash, first unsettled seq, lost (with drops and rejections). */
  chain: SpoolCheckpoint;
  /** The frame that was in flight, as it was sent (batch number chain.batch). */
  inFlight: { batch: TapBatch; frame: Buffer } | null;
  /** The event lines of the taps pushed and not sealed, in order: seqs follow the frame in flight (or chain.seq). */
  lines: string[];
  /** Taps counted lost for dropped records (not in chain.lost). */
  lostOnRead: number;
  /** Records dropped (torn, unreadable, invalid). */
  droppedRecords: number;
  problems: string[];
}

export type SpoolRead =
  | { ok: true; stream: RecoveredStream }
  /** No usable checkpoint: the chain cannot be continued; `lostTaps` event lines were in the file. */
  | { ok: false; file: string; problem: string; lostTaps: number };

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const HASH = /^[0-9a-f]{64}$/;
const NAME = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;

function parse(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

function checkpointOf(o: Record<string, unknown> | null): SpoolCheckpoint | string {
  if (!o) return 'the first record is not a JSON object';
  if (o.v !== SPOOL_VERSION) return `spool version ${JSON.stringify(o.v)}, this sidecar reads ${SPOOL_VERSION}`;
  const bad = [
    !NAME(o.proxy) && 'proxy', !NAME(o.stream) && 'stream', !isUint(o.batch) && 'batch', !isUint(o.seq) && 'seq',
    !isUint(o.lost) && 'lost', !(typeof o.prev_hash === 'string' && HASH.test(o.prev_hash)) && 'prev_hash',
  ].filter(Boolean);
  if (bad.length > 0) return `checkpoint fields ${bad.join(', ')} are missing or invalid`;
  return o as unknown as SpoolCheckpoint;
}

export function readSpool(file: string): SpoolRead {
  const buf = readFileSync(file);
  const problems: string[] = [];
  let dropped = 0;
  let lostOnRead = 0;
  const drop = (what: string, lost: number) => { dropped++; lostOnRead += lost; if (problems.length < 10) problems.push(what); };

  const firstNl = buf.indexOf(0x0a);
  const first = firstNl > 0 && buf[0] === 0x63 /* c */ ? checkpointOf(parse(buf.toString('utf8', 1, firstNl))) : 'the file does not start with a checkpoint record';
  if (typeof first === 'string') {
    let events = 0;
    for (let at = 0; at < buf.length; at = buf.indexOf(0x0a, at) + 1 || buf.length) if (buf[at] === 0x6c /* l */ || buf[at] === 0x65 /* e */) events++;
    return { ok: false, file, problem: first, lostTaps: events };
  }
  const chain: SpoolCheckpoint = { ...first };
  const unsealed: string[] = [];
  let inFlight: { frame: Buffer; events: number } | null = null;
  let pos = firstNl + 1;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    const tag = String.fromCharCode(buf[pos]);
    if (nl < 0) {
      // The last write was cut short (a crash mid-write): the record never finished.
      drop(`torn last record '${tag}' (${buf.length - pos} bytes, no newline)`, 'farc{['.includes(tag) ? 0 : 1);
      break;
    }
    const text = buf.toString('utf8', pos + 1, nl);
    const at = pos;
    pos = nl + 1;
    if (tag === '{' || tag === '[') continue; // a line of a frame whose record header was unreadable
    if (tag === 'l' || tag === 'e') { unsealed.push(tag + text); continue; }
    const o = parse(text);
    if (tag === 'd') {
      if (o && isUint(o.n)) chain.lost += o.n;
      else drop(`unreadable drop record at byte ${at}`, 1);
    } else if (tag === 'f') {
      if (!o || !isUint(o.bytes) || !isUint(o.events) || !isUint(o.takes) || o.takes > unsealed.length) {
        drop(`unreadable frame record at byte ${at}`, 0);
        continue;
      }
      if (pos + o.bytes > buf.length) {
        drop(`torn frame record at byte ${at} (${buf.length - pos} of ${o.bytes} bytes): never sent, its taps are sealed again`, 0);
        break;
      }
      if (inFlight) {
        // The emitter has one batch in flight at a time; a second one means the settle record was lost.
        drop(`frame at byte ${at} while another was in flight: that one's ${inFlight.events} taps counted lost`, inFlight.events);
      }
      inFlight = { frame: buf.subarray(pos, pos + o.bytes), events: o.events };
      unsealed.splice(0, o.takes);
      pos += o.bytes;
    } else if (tag === 'a' || tag === 'r') {
      const fine = tag === 'a'
        ? o && isUint(o.batch) && typeof o.hash === 'string' && HASH.test(o.hash) && isUint(o.next_seq)
        : o && isUint(o.batch) && isUint(o.events);
      if (!fine || !inFlight || o!.batch !== chain.batch) {
        drop(`${tag === 'a' ? 'acknowledgement' : 'rejection'} record at byte ${at} that matches no batch in flight`, 0);
        continue;
      }
      if (tag === 'a') Object.assign(chain, { batch: chain.batch + 1, prev_hash: o!.hash as string, seq: o!.next_seq as number });
      else chain.lost += inFlight.events;
      inFlight = null;
    } else {
      drop(`unknown record '${tag}' at byte ${at}`, 1);
    }
  }

  let sent: RecoveredStream['inFlight'] = null;
  if (inFlight) {
    const judged = judgeFrame(inFlight.frame, chain);
    if (typeof judged !== 'string') sent = { batch: judged, frame: inFlight.frame };
    else {
      // As if the collector had refused it: its taps are lost and the next batch takes its number.
      drop(`frame in flight ${judged}: its ${inFlight.events} taps counted lost`, 0);
      chain.lost += inFlight.events;
    }
  }
  const lines: string[] = [];
  for (const record of unsealed) {
    const line = record[0] === 'l' ? checkedLine(record.slice(1)) : objectLine(record.slice(1), chain.proxy);
    if (line !== null) lines.push(line);
    else drop('invalid event line', 1);
  }
  return { ok: true, stream: { file, chain, inFlight: sent, lines, lostOnRead, droppedRecords: dropped, problems } };
}

/** An `l` record's event line, if it is one the collector would take. */
function checkedLine(text: string): string | null {
  let a: unknown;
  try { a = JSON.parse(text); } catch { return null; }
  return checkLine(a) === null ? text : null;
}

/** An `e` record (a sidecar before issue 15: the tap as an object) as its event line, if it is a valid tap. */
function objectLine(text: string, proxy: string): string | null {
  const o = parse(text);
  if (!o) return null;
  const tap = { ...o, proxy, seq: 0 } as unknown as TapEvent;
  return validateTap(tap).length === 0 ? eventLine(tap) : null;
}

/** The frame's batch when it can be re-sent as batch chain.batch of the chain, else why not. */
function judgeFrame(frame: Buffer, chain: SpoolCheckpoint): TapBatch | string {
  let b: TapBatch;
  try {
    b = decodeBatch(frame);
  } catch (e) {
    return `does not decode (${(e as Error).message})`;
  }
  if (b.proxy !== chain.proxy || b.stream !== chain.stream) return `is from ${b.proxy}/${b.stream}, not ${chain.proxy}/${chain.stream}`;
  if (b.batch !== chain.batch || b.first_seq !== chain.seq || b.prev_hash !== chain.prev_hash) {
    return `is batch ${b.batch} from seq ${b.first_seq}, where the chain is at batch ${chain.batch}, seq ${chain.seq}`;
  }
  return b;
}
