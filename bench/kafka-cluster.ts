// The bench's Kafka: librdkafka's mock cluster (as in the tests), but with
// its topics created up front with many partitions (./kafka-mock-cluster.py):
// the mock keeps only ~5 MB per partition, and a million taps are ~40 MB
// gzipped, so 24 partitions hold a whole run even if consumers lag.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { procCpuMs } from './proc-cpu.ts';

export interface BenchKafka {
  brokers: string[];
  /** CPU the mock cluster process has used so far (all its threads), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startBenchKafka(topics: string[], partitions: number, brokers = 3): Promise<BenchKafka> {
  const script = fileURLToPath(new URL('./kafka-mock-cluster.py', import.meta.url));
  const child = spawn('python3', [script, String(brokers), String(partitions), ...topics], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err = (err + d).slice(-2000); });
  const list = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench kafka: no bootstrap.servers within 10 s: ${err}`)), 10_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bench kafka: mock cluster exited (${code}): ${err}`)); });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /bootstrap\.servers=(\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1].split(',')); }
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    brokers: list,
    cpuMs: () => procCpuMs(child.pid!),
    async stop() {
      child.stdin!.end();
      child.kill('SIGKILL');
      await exited;
    },
  };
}
