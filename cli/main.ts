// The `meshlens` command line.

import { parseSidecarArgs, SIDECAR_USAGE, startSidecar } from '../mesh/proxy/index.ts';
import { runDemoApps } from '../demo/index.ts';
import { CONTROL_FLAGS, runControl } from './control.ts';
import { COLLECTOR_FLAGS, runCollector } from './collector.ts';
import { parseFlags, UsageError } from './flags.ts';
import { UP_FLAGS, runUp } from './up.ts';
import { printStatus, STATUS_FLAGS } from './status.ts';
import * as detectCli from '../models/detect-cli.ts';
import { REPLAY_FLAGS, REPLAY_SUMMARY, runReplay } from './replay.ts';
import { CA_SUMMARY, runCa, runToken, TOKEN_SUMMARY } from './identity-commands.ts';
import { REPORT_SUMMARY, runReport } from './report.ts';
import { ACTIONS_SUMMARY, ROLLOUT_SUMMARY, runActions, runRollout, runTuning, TUNING_SUMMARY } from './tuning-commands.ts';

interface Command {
  summary: string;
  /** Runs until stopped: SIGINT/SIGTERM are handled from the start, so one that lands while it starts stops it once up. */
  serves?: true;
  run(argv: string[], log: (line: string) => void): Promise<{ close(): Promise<void> } | void>;
}

const COMMANDS: Record<string, Command> = {
  up: {
    serves: true,
    summary: 'Run the whole loop on this machine: control plane, collector, ClickHouse (chdb), UI and a demo mesh.',
    run: (argv, log) => runUp(parseFlags('up', COMMANDS.up.summary, argv, UP_FLAGS), log),
  },
  control: {
    serves: true,
    summary: 'Run the control plane with the embedded collector, ClickHouse (chdb) and the UI.',
    run: (argv, log) => runControl(parseFlags('control', COMMANDS.control.summary, argv, CONTROL_FLAGS), log),
  },
  sidecar: {
    serves: true,
    summary: 'Run a sidecar proxy (see `meshlens sidecar --help`).',
    run: async (argv, log) => {
      if (argv.includes('--help') || argv.includes('-h')) { console.log(`usage: ${SIDECAR_USAGE}`); return; }
      const sc = await startSidecar(parseSidecarArgs(argv, process.env));
      const addr = (a?: { host: string; port: number }) => (a ? `${a.host}:${a.port}` : '-');
      log(`sidecar: inbound ${addr(sc.inboundAddress)}, outbound ${addr(sc.outboundAddress)}`);
      return { close: async () => { await sc.close(); log(`sidecar: stopped, ${JSON.stringify(sc.stats())}`); } };
    },
  },
  'demo-apps': {
    serves: true,
    summary: 'Run demo workloads from a JSON spec (used by `meshlens up`).',
    run: (argv, log) => {
      const i = argv.indexOf('--spec');
      if (i < 0 || argv[i + 1] === undefined) throw new UsageError(['--spec: missing value'], 'usage: meshlens demo-apps --spec <json>');
      return runDemoApps(argv[i + 1], log);
    },
  },
  schema: await import('./schema.ts'),
  policy: await import('./policy.ts'),
  collector: {
    serves: true,
    summary: 'Run a tap collector: one member of the Kafka consumer group, writing to ClickHouse.',
    run: (argv, log) => runCollector(parseFlags('collector', COMMANDS.collector.summary, argv, COLLECTOR_FLAGS), log),
  },
  status: {
    summary: 'Show the control plane\'s registry, sidecars and collector counters.',
    run: (argv, log) => printStatus(parseFlags('status', COMMANDS.status.summary, argv, STATUS_FLAGS), log),
  },
  token: { summary: TOKEN_SUMMARY, run: runToken },
  ca: { summary: CA_SUMMARY, run: runCa },
  actions: { summary: ACTIONS_SUMMARY, run: (argv) => runActions(argv) },
  rollout: { summary: ROLLOUT_SUMMARY, run: (argv) => runRollout(argv) },
  tuning: { summary: TUNING_SUMMARY, run: (argv) => runTuning(argv) },
  report: { summary: REPORT_SUMMARY, run: (argv) => runReport(argv) },
  detect: { summary: detectCli.summary, run: detectCli.run },
  replay: {
    summary: REPLAY_SUMMARY,
    run: async (argv) => { await runReplay(parseFlags('replay', REPLAY_SUMMARY, argv, REPLAY_FLAGS)); },
  },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `meshlens: a service mesh that watches itself\n\nusage: meshlens <command> [flags]\n\n${rows.join('\n')}\n\nmeshlens <command> --help shows a command's flags.`;
}

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`meshlens: unknown command "${name}"\n\n${help()}`);
    process.exitCode = 2;
    return;
  }
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
  // Signals are handled before a service starts: a supervisor that sees its
  // "listening" line may stop it before run() has returned here.
  let service: { close(): Promise<void> } | null = null;
  let pending: string | null = null;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) {
      log(`${why} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${why}: stopping …`);
    try {
      await service!.close();
      log('stopped cleanly');
    } catch (e) {
      console.error(`meshlens ${name}: error while stopping: ${(e as Error).message}`);
      process.exitCode = 1;
    }
    process.exit();
  };
  const onSignal = (why: string) => {
    if (service) return void stop(why);
    if (pending) {
      log(`${why} again while starting: exiting now`);
      process.exit(130);
    }
    pending = why;
    log(`${why} while starting: stopping once started`);
  };
  const handleSignals = () => {
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  };
  if (cmd.serves) handleSignals();
  let running: { close(): Promise<void> } | void;
  try {
    running = await cmd.run(argv, log);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.problems.length ? `meshlens ${name}: ${e.message}` : e.usage);
      process.exitCode = e.problems.length ? 2 : 0;
    } else {
      console.error(`meshlens ${name}: ${(e as Error).message}`);
      process.exitCode = 1;
    }
    if (pending) process.exit();
    return;
  }
  if (!running) {
    if (pending) process.exit();
    return;
  }
  service = running;
  if (!cmd.serves) handleSignals();
  if (pending) void stop(pending);
  if (process.env.MESHLENS_EXIT_WITH_PARENT === '1') {
    // Our parent holds our stdin open; when it dies the pipe closes and we follow.
    process.stdin.on('end', () => void stop('parent gone'));
    process.stdin.on('error', () => void stop('parent gone'));
    process.stdin.resume();
  }
}

await main();
