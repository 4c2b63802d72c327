// Waits the Kafka tests share: poll until a condition holds (naming what it
// waited for, and the state it saw, when it times out), and whether a
// consumer group has committed every partition of a topic to its end.

import { Kafka, logLevel } from 'kafkajs';

export async function eventually(what: string, probe: () => Promise<boolean> | boolean, opts: { timeoutMs?: number; state?: () => string } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${opts.state ? `:\n  ${opts.state()}` : ''}`);
}

/** Committed offset / end offset of each partition (`seen`, for failure messages), and whether all are at the end. */
export async function committedToEnd(brokers: string[], groupId: string, topic: string): Promise<{ done: boolean; seen: string }> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [high, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const at = (p: number) => committed.partitions.find((c) => c.partition === p)?.offset;
    return {
      done: high.every((h) => h.high === '0' || at(h.partition) === h.high),
      seen: high.map((h) => `p${h.partition} ${at(h.partition)}/${h.high}`).join(', '),
    };
  } finally {
    await admin.disconnect();
  }
}
