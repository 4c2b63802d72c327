import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';

// CommonJS: Node's named-export detection does not see CompressionCodecs.
const { CompressionCodecs, CompressionTypes } = kafkajs;
import { encodeBatch } from '../batch.ts';
import { sampleChain, sampleL7 } from '../sample-taps.ts';
import { TAPS_GZIP_LEVEL, useTapsGzip } from './kafka-gzip.ts';

test('useTapsGzip makes kafkajs compress GZIP at the taps level, and what it writes any gunzip reads back', async () => {
  useTapsGzip();
  const frame = encodeBatch(sampleChain('gz-1', 's', [Array.from({ length: 200 }, () => sampleL7())])[0]);
  const codec = CompressionCodecs[CompressionTypes.GZIP]() as { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
  const packed = await codec.compress({ buffer: frame });
  assert.equal(packed.length, gzipSync(frame, { level: TAPS_GZIP_LEVEL }).length);
  assert.notEqual(packed.length, gzipSync(frame).length, 'not the default level');
  assert.deepEqual(gunzipSync(packed), frame);
  assert.deepEqual(await codec.decompress(gzipSync(frame)), frame, 'reads default-level GZIP too');
});
