// GZIP for the taps topic: level 3 when compressing instead of kafkajs's
// default (6), and decompression into one buffer of the right size.
//
// Compressing: kafkajs compresses each produce request with zlib's default
// level. On a frame of 1,000 taps (measured, 2-core machine): level 6 gives
// 41 B per tap for 3.7 µs of CPU per tap, level 3 gives 52 B for 1.7 µs.
// Sidecars pay that CPU beside the traffic they proxy, and the bytes are
// small either way, so level 3.
//
// Decompressing: kafkajs calls zlib.unzip with its default 16 KiB output
// chunks. A produce request of six 1,000-tap frames inflates to ~3.9 MB,
// so that is ~240 trips between the thread pool and the event loop and a
// concat of all the chunks at the end: 3.7 µs of CPU per tap, most of it on
// the collector's main thread. A gzip member ends with its uncompressed
// size (ISIZE, RFC 1952), so the output buffer is made that size at once
// (bounded: the trailer is the sender's word) and the same inflate costs
// 0.9 µs per tap (measured with ~50 such requests, node 20). Any gzip
// decompresses the same way, whatever its level or producer.
//
// Kafka's other codecs (LZ4, ZSTD, Snappy) need native modules kafkajs does
// not ship. kafkajs keeps its codecs in one module-level table, so this
// replaces the GZIP entry for every kafkajs client in the process (ours are
// the only ones): publishers and collectors both install it. Idempotent.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { kafkajs } from './kafkajs.ts';

export const TAPS_GZIP_LEVEL = 3;

/** Output buffer bounds when inflating: zlib's default chunk, and a cap on what a trailer can make us allocate at once. */
const MIN_OUT_CHUNK = 16 * 1024;
const MAX_OUT_CHUNK = 32 * 1024 * 1024;

const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip);

/**
 * The output chunk size for inflating `buf`: its gzip trailer's ISIZE (the
 * uncompressed size mod 2^32) plus one byte, so zlib sees the end of the
 * stream without another round, within [MIN_OUT_CHUNK, MAX_OUT_CHUNK]. A
 * wrong ISIZE (hostile, or several gzip members) costs more chunks, never
 * a wrong result.
 */
export function gunzipChunkSize(buf: Uint8Array): number {
  if (buf.length < 18 || buf[0] !== 0x1f || buf[1] !== 0x8b) return MIN_OUT_CHUNK;
  const n = buf.length;
  const isize = (buf[n - 4] | (buf[n - 3] << 8) | (buf[n - 2] << 16) | (buf[n - 1] << 24)) >>> 0;
  return Math.min(MAX_OUT_CHUNK, Math.max(MIN_OUT_CHUNK, isize + 1));
}

let installed = false;
export function useTapsGzip(): void {
  if (installed) return;
  installed = true;
  const { CompressionCodecs, CompressionTypes } = kafkajs();
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    compress: (encoder: { buffer: Buffer }) => gzip(encoder.buffer, { level: TAPS_GZIP_LEVEL }),
    decompress: (buffer: Buffer) => unzip(buffer, { chunkSize: gunzipChunkSize(buffer) }),
  });
}
