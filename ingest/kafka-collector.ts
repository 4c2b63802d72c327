// Kafka bus, collector side: one member of a consumer group on the taps
// topic. Each record (a batch frame, ./batch.ts) is decoded and handed to the same Collector the
// embedded bus uses (shape check, hash chain, store write, loss records),
// and its offset is committed only once that outcome is final:
//
//   stored / duplicate          resolve + commit
//   rejected for good           counted by code (Collector.refuse), logged,
//   (not a frame, too large, bad   resolve + commit: a hostile record never
//    schema, broken chain, bad     stalls its partition; a frame the Collector
//    signature with `trust`)       judged is in tap_rejects first
//   retriable (store down)      not committed, not skipped: the same record
//                                is retried with backoff until the store is
//                                back or the partition moves
//
// Records of one partition are judged in order: a later batch of a stream
// must not be judged while an earlier one is unstored, or it would look
// like a gap. The fetch handler only queues records; PartitionLanes
// (./partition-lanes.ts) stores them and commits each partition's offsets
// once its records' outcomes are final, so kafkajs fetches on while an
// INSERT is in flight. What all partitions have queued goes to the store
// together: each lane submits its run to a GroupCommit (./group-commit.ts),
// which hands the runs of all lanes to Collector.acceptMany as one group
// (one ClickHouse INSERT).
//
// Restarts and rebalances: uncommitted records are delivered again, to this
// member or another. The Collector runs with behindHead 'duplicate', so a
// redelivered batch at or behind its stream's stored head is a duplicate,
// and the store's row keys make a half-landed write harmless even when the
// redelivered records are grouped differently (see ./sql.ts). On every
// group join the lanes drop what they queued but did not submit (kafkajs
// fetches it again from the committed offset) and the chain heads are
// reloaded from the store, because the previous owner of a partition may
// have advanced its streams.
//
// A crash kafkajs does not recover from (a non-retriable error: it
// disconnects and stays down) would leave a collector that looks alive and
// consumes nothing, its old member holding partitions until the session
// expires. librdkafka's mock cluster does this to a follower whose SyncGroup
// arrives after the leader's has completed the generation (INVALID_REQUEST;
// a real broker answers it with the assignment), which a loaded machine
// makes likely. So the collector starts the consumer again itself, with
// backoff, as a new member, and counts it (`restarts`).

import type { Consumer, LogEntry } from 'kafkajs';
import { useTapsGzip } from './bus/kafka-gzip.ts';
import { kafkajs } from './bus/kafkajs.ts';
import { DEFAULT_TAPS_TOPIC, ensureTopic, DEFAULT_TAPS_PARTITIONS } from './bus/kafka-topic.ts';
import { Collector, type CollectorCounters, type CollectorResult } from './collector.ts';
import { IngestError } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import { PartitionLanes, type LaneRecord } from './partition-lanes.ts';
import type { TapStore } from './store.ts';
import type { TrustBundle } from '../identity/index.ts';

/** Largest record the collector decodes (the producer's limit is 1 MiB). */
export const DEFAULT_COLLECTOR_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface KafkaCollectorOptions {
  brokers: string[];
  store: TapStore;
  topic?: string;
  groupId?: string;
  clientId?: string;
  /** Partitions for the topic when it has to be created; false: do not create it. */
  createPartitions?: number | false;
  maxMessageBytes?: number;
  /** Backoff while the store is unavailable. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Partitions handled at once (default 64: every partition of the topic, so their fetches share inserts). */
  partitionsConsumedConcurrently?: number;
  /** Group commit: how long a group waits for more records after its first (default 500 ms, see ./group-commit.ts). */
  groupLingerMs?: number;
  /** Group commit: record bytes that close a group at once (default 16 MiB). */
  groupMaxBytes?: number;
  /** Group commit: groups written at the same time (default 2, see ./group-commit.ts). */
  groupMaxWrites?: number;
  /** Record bytes fetched and not yet stored before fetching waits (default 64 MiB). */
  maxQueuedBytes?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a fetch waits on the broker for new records (also bounds how long close() waits). */
  fetchWaitMs?: number;
  log?: (m: string) => void;
  now?: () => number;
  /** Believe only batches signed by their proxy's certificate chaining to this bundle (CollectorOptions.trust; without it, NOT authenticated). */
  trust?: TrustBundle | (() => TrustBundle);
  /** CollectorOptions.expiredGraceMs: records can be read long after they were signed. */
  expiredGraceMs?: number;
}

export interface KafkaCollectorCounters extends CollectorCounters {
  /** Records read from the topic (redeliveries included). */
  records: number;
  /** Offsets committed (one commit per partition run), and commits that failed (records delivered again later). */
  commits: number;
  commit_failures: number;
  /** Record bytes fetched and not yet stored. */
  queued_bytes: number;
  /** Groups written (each one acceptMany, one insert) and the records in them. */
  groups: number;
  grouped_records: number;
  /** Attempts that failed retriably and were tried again. */
  store_retries: number;
  rebalances: number;
  /** Times the collector started its consumer again (as a new member) after kafkajs gave up on it: a crash it does not recover from, or a failed restart. */
  restarts: number;
  /** Partitions assigned to this member now. */
  partitions: number[];
  last_error: string;
}

export interface KafkaCollector {
  counters(): KafkaCollectorCounters;
  /** Stops consuming (runs in flight finish their current attempt, queued records stay uncommitted), then closes the Collector; the store stays open. */
  close(): Promise<void>;
}


export async function startKafkaCollector(opts: KafkaCollectorOptions): Promise<KafkaCollector> {
  const topic = opts.topic ?? DEFAULT_TAPS_TOPIC;
  const log = opts.log ?? ((m: string) => process.stderr.write(`meshlens collector: ${m}\n`));
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_COLLECTOR_MAX_MESSAGE_BYTES;
  const retryInitial = opts.retryInitialMs ?? 100;
  const retryMax = opts.retryMaxMs ?? 5_000;
  const heartbeatMs = opts.heartbeatIntervalMs ?? 1_000;
  const collector = new Collector(opts.store, { now: opts.now, behindHead: 'duplicate', trust: opts.trust, expiredGraceMs: opts.expiredGraceMs });
  const groups = new GroupCommit(collector, { lingerMs: opts.groupLingerMs, maxBytes: opts.groupMaxBytes, maxWrites: opts.groupMaxWrites });
  const groupId = opts.groupId ?? 'meshlens-collectors';
  const c = { records: 0, rebalances: 0, restarts: 0, partitions: [] as number[] };

  if (opts.createPartitions !== false) await ensureTopic(opts.brokers, topic, opts.createPartitions ?? DEFAULT_TAPS_PARTITIONS, log);
  useTapsGzip(); // one-buffer inflate (./bus/kafka-gzip.ts)
  const { Kafka, logLevel } = kafkajs();
  const kafka = new Kafka({
    brokers: opts.brokers, clientId: opts.clientId ?? 'meshlens-collector',
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }: { level: number; log: LogEntry['log'] }) => {
      if (level <= logLevel.WARN) log(`kafka: ${entry.message}${entry.error ? `: ${entry.error}` : ''}`);
    },
  });
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
    heartbeatInterval: heartbeatMs,
    maxBytesPerPartition: maxBytes + 64 * 1024,
    maxWaitTimeInMs: opts.fetchWaitMs ?? 500,
    maxBytes: 64 * 1024 * 1024,
    allowAutoTopicCreation: true,
  });

  /** A run of one partition's records, in order, to final or retriable outcomes (one each). */
  async function judge(ms: readonly LaneRecord[]): Promise<CollectorResult[]> {
    const out: CollectorResult[] = new Array(ms.length);
    const bodies: Uint8Array[] = [];
    const at: number[] = [];
    let bytes = 0;
    ms.forEach((m, i) => {
      const v = m.value;
      if (v === null || v.length === 0) {
        out[i] = collector.refuse(new IngestError('INGEST_ERR_MALFORMED', 'record has no value'));
      } else if (v.length > maxBytes) {
        out[i] = collector.refuse(new IngestError('INGEST_ERR_TOO_LARGE', `record is ${v.length} bytes, the limit is ${maxBytes}`));
      } else {
        bodies.push(v);
        at.push(i);
        bytes += v.length;
      }
    });
    const results = await groups.submit(bodies, bytes);
    at.forEach((i, j) => { out[i] = results[j]; });
    return out;
  }

  const lanes = new PartitionLanes({
    judge, log, retryInitialMs: retryInitial, retryMaxMs: retryMax,
    maxQueuedBytes: opts.maxQueuedBytes ?? 64 * 1024 * 1024,
    commit: (partition, offset) => consumer.commitOffsets([{ topic, partition, offset }]),
  });

  const run = () => consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 64,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      c.records += batch.messages.length;
      lanes.push(batch.partition, batch.messages.map((m) => ({ offset: m.offset, value: m.value })));
      // Resolved means "fetch on from here", not "stored": the lanes commit once it is.
      resolveOffset(batch.messages[batch.messages.length - 1].offset);
      // A failed heartbeat (the group is rebalancing) ends the wait with its
      // error: the handler must return before kafkajs can rejoin. Otherwise a
      // store outage held the member out of the rebalance until its session
      // expired (measured on the mock: the joining member had partitions only
      // after 11 s, while the stuck one still counted all four as its own).
      await lanes.wait(heartbeat, heartbeatMs);
      await heartbeat().catch(() => undefined);
    },
  });

  let closing: Promise<void> | null = null;
  let restartDelay = retryInitial;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> = Promise.resolve();

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    c.rebalances++;
    c.partitions = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    restartDelay = retryInitial;
    log(`kafka: joined group ${groupId} as ${e.payload.isLeader ? 'leader' : 'member'} in ${e.payload.duration} ms: partitions [${c.partitions.join(',')}]`);
    lanes.reset();
    void collector.reload();
  });
  // kafkajs restarts the consumer itself after a retriable crash (restart: true).
  consumer.on(consumer.events.CRASH, (e) => {
    if (e.payload.restart) return;
    const err = e.payload.error as Error & { type?: string };
    restartLater(`${err.type ?? err.name}: ${err.message}`);
  });

  function restartLater(why: string): void {
    if (closing) return;
    c.restarts++;
    c.partitions = [];
    lanes.reset();
    log(`kafka: consumer of group ${groupId} stopped (${why}); starting it again in ${restartDelay} ms`);
    restartTimer = setTimeout(() => {
      restarting = (async () => {
        if (closing) return;
        try {
          await consumer.connect();
          await run(); // a crash while joining comes back through CRASH
        } catch (e) {
          restartLater(`restart failed: ${(e as Error).message}`);
        }
      })();
    }, restartDelay);
    restartDelay = Math.min(restartDelay * 2, retryMax);
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await run();

  return {
    counters: () => {
      const l = lanes.counters();
      return {
        ...collector.counters(), ...c, groups: groups.groups, grouped_records: groups.grouped, partitions: [...c.partitions],
        commits: l.commits, commit_failures: l.commit_failures, store_retries: l.store_retries, queued_bytes: l.queued_bytes, last_error: l.last_error,
      };
    },
    close() {
      closing ??= (async () => {
        clearTimeout(restartTimer);
        await restarting;
        // Stop fetching first, then leave: when several members close at once,
        // a member that already stopped does not rejoin the rebalance the
        // others' LeaveGroup starts (measured: 12 s instead of < 1 s on the mock).
        // Runs in flight finish and commit while the consumer is still in the group.
        await lanes.close();
        await consumer.stop();
        await consumer.disconnect();
        await collector.close();
      })();
      return closing;
    },
  };
}
