import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { sampleChain, sampleL7 } from '../sample-taps.ts';
import { decodeBatch } from '../batch-check.ts';
import { startKafkaMock, type KafkaMock } from '../../peers/index.ts';
import { KafkaPublisher, kafkaErrorResult } from './kafka.ts';
import { ensureTopic } from './kafka-topic.ts';

let mock: KafkaMock;
before(async () => { mock = await startKafkaMock(); });
after(async () => { await mock.stop(); });

const events = (n: number) => Array.from({ length: n }, () => sampleL7());

test('publishes each batch as one record keyed by proxy id, in order, to one partition of the topic', async (t) => {
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'bus-order' });
  t.after(() => pub.close());
  const chain = sampleChain('bus-p1', 's1', [events(2), events(1), events(3)]);
  for (const b of chain) assert.deepEqual(await pub.publish(b), { ok: true, duplicate: false });

  const kafka = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const offsets = await admin.fetchTopicOffsets('bus-order');
  const used = offsets.filter((o) => o.high !== '0');
  assert.equal(used.length, 1, 'one proxy, one partition');
  assert.equal(used[0].high, '3');

  // Read the raw records back with a plain consumer: key, value and order.
  const consumer = kafka.consumer({ groupId: 'bus-order-reader', maxWaitTimeInMs: 100 });
  await consumer.connect();
  t.after(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'bus-order', fromBeginning: true });
  const got: { key: string; batch: number; hash: string }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const b = decodeBatch(message.value!);
        got.push({ key: message.key!.toString(), batch: b.batch, hash: b.hash });
        if (got.length === 3) resolve();
      },
    });
  });
  assert.deepEqual(got, chain.map((b) => ({ key: 'bus-p1', batch: b.batch, hash: b.hash })));
});

test('a batch over the message size limit is rejected for good before sending, naming its size', async (t) => {
  const pub = new KafkaPublisher({ brokers: mock.brokers, topic: 'bus-big', maxMessageBytes: 10_000 });
  t.after(() => pub.close());
  const [big] = sampleChain('bus-big', 's', [events(100)]);
  const r = await pub.publish(big);
  assert.ok(!r.ok && !r.retriable && r.code === 'INGEST_ERR_TOO_LARGE', JSON.stringify(r));
  assert.match(!r.ok ? r.message : '', /tap batch 0 of bus-big\/s: \d+ bytes, the limit is 10000/);
  const [small] = sampleChain('bus-big', 's', [events(1)]);
  assert.deepEqual(await pub.publish(small), { ok: true, duplicate: false });
});

test('with no broker reachable, publish returns a retriable INGEST_ERR_BUS instead of throwing', async (t) => {
  const port = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
  const pub = new KafkaPublisher({ brokers: [`127.0.0.1:${port}`], topic: 'nowhere' });
  t.after(() => pub.close());
  const r = await pub.publish(sampleChain('bus-down', 's', [events(1)])[0]);
  assert.ok(!r.ok && r.retriable && r.code === 'INGEST_ERR_BUS', JSON.stringify(r));
  assert.ok(!r.ok && r.message.includes(`127.0.0.1:${port}`));
});

test('kafkajs errors map by their retriable flag; MESSAGE_TOO_LARGE is final even when wrapped in retries-exceeded', () => {
  const tooLarge = { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE', retriable: false, message: 'too large' };
  const wrapped = { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, message: 'retries exceeded', cause: tooLarge };
  assert.deepEqual([kafkaErrorResult(wrapped, 'x').retriable, kafkaErrorResult(wrapped, 'x').code], [false, 'INGEST_ERR_TOO_LARGE']);
  const notLeader = { name: 'KafkaJSProtocolError', type: 'NOT_LEADER_FOR_PARTITION', retriable: true, message: 'nl' };
  assert.equal(kafkaErrorResult({ name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, message: 'r', cause: notLeader }, 'x').retriable, true);
  assert.equal(kafkaErrorResult({ name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false, message: 'denied' }, 'x').retriable, false);
  assert.equal(kafkaErrorResult({ name: 'KafkaJSConnectionError', retriable: true, message: 'ECONNREFUSED' }, 'x').retriable, true);
});

test('ensureTopic reports the partition count of a topic it had to create, and of an existing one', async () => {
  // The mock cannot serve CreateTopics (no usable controller): auto-creation gives 4 partitions.
  const n = await ensureTopic(mock.brokers, 'bus-ensure', 12);
  assert.ok(n >= 1, `partitions ${n}`);
  assert.equal(await ensureTopic(mock.brokers, 'bus-ensure', 12), n);
});
