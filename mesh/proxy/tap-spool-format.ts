// The spool file's records (what ./tap-spool.ts writes and
// ./tap-spool-read.ts reads). Each record is one line whose first byte is
// its tag; a frame record is followed by the frame's bytes. A frame's own
// lines begin with "{" or "[", never with a tag letter, so a reader that
// meets an unreadable frame header can skip to the next record.
//
//   c{"v":1,"proxy":"cart-1","stream":"9f…","batch":7,"prev_hash":"…","seq":7000,"lost":0}
//   f{"bytes":41230,"events":100,"takes":100}      then 41230 bytes: the frame
//   l["l7.request",1764412800000,"inbound",…]      a tap: its frame event line (schema 3)
//   d{"n":3}   a{"batch":7,"hash":"…","next_seq":7100}   r{"batch":7,"events":100}
//
// A tap's record is the very line its frame will carry (../../ingest/tap-lines.ts),
// so the emitter encodes each tap once, when it is pushed. Those lines
// only ever grow at the end (fields added since are appended and left off
// while absent), so a spool still reads right after an upgrade. Sidecars
// before issue 15 wrote each tap as a JSON object instead:
//   e{"v":1,"kind":"l7.request","ts":…}            a tap without proxy and seq
// which this reader still takes (a spool outlives the process that wrote
// it); a sidecar that old counts `l` records as unreadable, lost taps.

/** Spool files are `<stream><SPOOL_SUFFIX>`; a compaction writes `<file>.tmp` first. */
export const SPOOL_SUFFIX = '.spool';
export const SPOOL_VERSION = 1;

/** The chain of a stream as a spool's first line records it. */
export interface SpoolCheckpoint {
  v: typeof SPOOL_VERSION;
  proxy: string;
  stream: string;
  /** Number of the next batch to seal (the one in flight, when a frame follows). */
  batch: number;
  /** Hash the next batch chains from. */
  prev_hash: string;
  /** First seq not yet acknowledged or given up. */
  seq: number;
  /** The stream's cumulative lost counter. */
  lost: number;
}

export const checkpointRecord = (c: SpoolCheckpoint): string => `c${JSON.stringify(c)}\n`;

/** A tap as its frame event line (its position gives the seq). */
export const lineRecord = (line: string): string => `l${line}\n`;

/**
 * A frame of `bytes` bytes sealed from `events` taps, of which it `takes`
 * the first unsealed event lines before it (0 in a checkpoint, where the
 * frame's taps have no event lines).
 */
export const frameRecord = (bytes: number, events: number, takes: number): string =>
  `f{"bytes":${bytes},"events":${events},"takes":${takes}}\n`;
