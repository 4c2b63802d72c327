// A real Kafka wire protocol for tests: librdkafka's mock cluster, started by
// Debian's kcat (`kcat -b localhost:1 -X test.mock.num.brokers=3 -d mock -C
// -t <topic>`). kcat logs the mock's bootstrap.servers on stderr and keeps
// the 3-broker cluster up as long as it lives; stop() kills it.
//
// What the mock (librdkafka 2.0.2, Debian bookworm's kcat) does for kafkajs
// 2.2.4, found by probing:
// - Produce (v7, GZIP ok), Fetch (v11), ListOffsets, Metadata and the whole
//   consumer-group protocol (FindCoordinator, JoinGroup, SyncGroup,
//   Heartbeat, OffsetFetch, OffsetCommit, LeaveGroup) work.
// - Topics are created on first Metadata request (auto-create) with 4
//   partitions; kcat's -t creates the topic it consumes the same way.
// - CreateTopics and the idempotent producer do NOT work: the Metadata
//   response names a controller id the broker list does not contain, so
//   kafkajs fails with "Broker 0 not found in the cached metadata" when it
//   looks for the controller (admin.createTopics; InitProducerId for
//   idempotence). ensureTopic() falls back to auto-creation; the publisher
//   is not idempotent (acks -1 and one request in flight keep order).
// - No message size limit: a 10 MB record is accepted. But each partition
//   log keeps only about 5 MB: a 10 MB record evicts everything before it
//   (and itself). Keep test traffic well under that per partition.
// - A consumer group's first join takes about 3 s (the mock's initial
//   rebalance delay). Any later membership change holds the group in
//   "Joining" for session timeout − 1 s, even when every member has rejoined
//   (5 s at the tests' 6 s sessions).
// - The mock completes a rebalance as soon as the LEADER's SyncGroup
//   arrives; a member whose SyncGroup comes ~40 ms later gets
//   INVALID_REQUEST, which kafkajs treats as fatal (CRASH, restart: false).
//   The collector restarts its consumer itself (ingest/kafka-collector.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface KafkaMock {
  /** host:port of each mock broker. */
  readonly brokers: string[];
  /** Kills kcat and with it the cluster. Idempotent. */
  stop(): Promise<void>;
  /**
   * Freezes the cluster (SIGSTOP): connections hang, nothing answers. Unlike
   * stop(), resume() brings it back with its log intact, as a real cluster
   * keeps acknowledged records through an outage (the mock's log is in memory).
   */
  pause(): void;
  resume(): void;
}

const KCAT = '/usr/bin/kcat';

/** Starts a 3-broker mock cluster; `topic` is created (4 partitions) by kcat's own consumer. */
export async function startKafkaMock(opts: { topic?: string; timeoutMs?: number } = {}): Promise<KafkaMock> {
  const bin = existsSync(KCAT) ? KCAT : 'kcat';
  const child: ChildProcess = spawn(bin, ['-b', 'localhost:1', '-X', 'test.mock.num.brokers=3', '-d', 'mock', '-C', '-q', '-t', opts.topic ?? 'meshlens.mock.boot'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  const brokers = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kafka mock: kcat printed no bootstrap.servers within ${opts.timeoutMs ?? 5000} ms; stderr: ${tail.slice(-500)}`)); }, opts.timeoutMs ?? 5000);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT'
        ? new Error('kafka mock: kcat is not installed; install it with: apt-get install -y kcat')
        : new Error(`kafka mock: cannot start kcat: ${e.message}`, { cause: e }));
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`kafka mock: kcat exited (${code ?? signal}) before the cluster was up; stderr: ${tail.slice(-500)}`)); });
    // The debug log never stops (every request is logged): keep reading so
    // the pipe never fills and blocks kcat, but keep only a short tail.
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      // Match before trimming: one chunk can hold the line and kilobytes after it.
      const text = tail + d;
      tail = text.slice(-4000);
      const m = /bootstrap\.servers=(\S+)/.exec(text);
      if (m) { clearTimeout(timer); resolve(m[1].split(',')); }
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((r) => { if (child.exitCode !== null || child.signalCode !== null) r(); else child.once('exit', () => r()); });
  return {
    brokers,
    pause() { child.kill('SIGSTOP'); },
    resume() { child.kill('SIGCONT'); },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
