import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';

// CommonJS: Node's named-export detection does not see CompressionCodecs.
const { CompressionCodecs, CompressionTypes } = kafkajs;
import { encodeBatch } from '../batch.ts';
import { sampleChain, sampleL7 } from '../sample-taps.ts';
import { gunzipChunkSize, TAPS_GZIP_LEVEL, useTapsGzip } from './kafka-gzip.ts';

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

test('decompression sizes its output from the gzip trailer, within bounds; a lying trailer only changes the chunking, zlib still rejects it', async () => {
  useTapsGzip();
  const codec = CompressionCodecs[CompressionTypes.GZIP]() as { decompress(b: Buffer): Promise<Buffer> };
  const frames = Buffer.concat(sampleChain('gz-2', 's', Array.from({ length: 6 }, () => Array.from({ length: 300 }, () => sampleL7()))).map(encodeBatch));
  const packed = gzipSync(frames, { level: TAPS_GZIP_LEVEL });
  assert.equal(gunzipChunkSize(packed), frames.length + 1, 'ISIZE + 1');
  assert.deepEqual(await codec.decompress(packed), frames);

  assert.equal(gunzipChunkSize(Buffer.from('not gzip at all, just text')), 16 * 1024, 'no gzip magic: the default chunk');
  const liar = Buffer.from(packed);
  liar.writeUInt32LE(0xffffffff, liar.length - 4);
  assert.equal(gunzipChunkSize(liar), 32 * 1024 * 1024, 'a huge ISIZE is capped');
  await assert.rejects(codec.decompress(liar), /check|size|length/i, 'zlib still checks the trailer it was given');
  const small = Buffer.from(packed);
  small.writeUInt32LE(10, small.length - 4);
  assert.equal(gunzipChunkSize(small), 16 * 1024, 'a tiny ISIZE gets the default chunk');

  const twoMembers = Buffer.concat([gzipSync(frames.subarray(0, 1000)), gzipSync(frames.subarray(1000))]);
  assert.deepEqual(await codec.decompress(twoMembers), frames, 'several gzip members (trailer = last member only) inflate whole');
});
