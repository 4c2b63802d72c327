import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSidecarArgs, SidecarConfigError } from './options.ts';

test('--bus kafka --brokers --topic select the Kafka bus with its brokers and topic', () => {
  const o = parseSidecarArgs(['--service', 'web', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000',
    '--bus', 'kafka', '--brokers', 'k1:9092, k2:9092', '--topic', 'taps.test']);
  assert.deepEqual([o.bus, o.brokers, o.topic], ['kafka', ['k1:9092', 'k2:9092'], 'taps.test']);
});

test('--bus kafka without brokers, a bad broker, an unknown bus and brokers without kafka are all reported at once', () => {
  const base = ['--service', 'web', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9000'];
  assert.throws(() => parseSidecarArgs([...base, '--bus', 'kafka']), (e: SidecarConfigError) => {
    assert.deepEqual(e.problems, ['--brokers: required with --bus kafka']);
    return true;
  });
  assert.throws(() => parseSidecarArgs([...base, '--bus', 'kafka', '--brokers', 'k1']), (e: SidecarConfigError) => {
    assert.deepEqual(e.problems, ["--brokers: expected ADDR:PORT, got 'k1'", '--brokers: required with --bus kafka']);
    return true;
  });
  assert.throws(() => parseSidecarArgs([...base, '--bus', 'nats', '--brokers', 'k1:9092']), (e: SidecarConfigError) => {
    assert.deepEqual(e.problems, ["--bus: expected embedded or kafka, got 'nats'", '--brokers/--topic: only with --bus kafka']);
    return true;
  });
});
