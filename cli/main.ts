// The `meshlens` command line. A command's module is imported only when that
// command runs (`meshlens sidecar` loads the proxy, not the control plane,
// chdb, express or tensorflow.js); the help reads ./command-summaries.ts.

import { COMMAND_SUMMARIES, type CommandName } from './command-summaries.ts';
import { parseFlags, UsageError } from './flags.ts';

interface Command {
  /** Runs until stopped: SIGINT/SIGTERM are handled from the start, so one that lands while it starts stops it once up. */
  serves?: true;
  run(argv: string[], log: (line: string) => void): Promise<{ close(): Promise<void> } | void>;
}

const summary = COMMAND_SUMMARIES;

const COMMANDS: Record<CommandName, Command> = {
  up: {
    serves: true,
    run: async (argv, log) => {
      const { UP_FLAGS, runUp } = await import('./up.ts');
      return runUp(parseFlags('up', summary.up, argv, UP_FLAGS), log);
    },
  },
  control: {
    serves: true,
    run: async (argv, log) => {
      // `meshlens control resilience …` is a client of a running control plane, not one.
      if (argv[0] === 'resilience') return (await import('./resilience-commands.ts')).runResilience(argv.slice(1));
      const { CONTROL_FLAGS, runControl } = await import('./control.ts');
      return runControl(parseFlags('control', summary.control, argv, CONTROL_FLAGS), log);
    },
  },
  sidecar: {
    serves: true,
    run: async (argv, log) => {
      const { parseSidecarArgs, SIDECAR_USAGE, startSidecar } = await import('../mesh/proxy/index.ts');
      if (argv.includes('--help') || argv.includes('-h')) { console.log(`usage: ${SIDECAR_USAGE}`); return; }
      const sc = await startSidecar(parseSidecarArgs(argv, process.env));
      const addr = (a?: { host: string; port: number }) => (a ? `${a.host}:${a.port}` : '-');
      log(`sidecar: inbound ${addr(sc.inboundAddress)}, outbound ${addr(sc.outboundAddress)}`);
      return { close: async () => { await sc.close(); log(`sidecar: stopped, ${JSON.stringify(sc.stats())}`); } };
    },
  },
  'demo-apps': {
    serves: true,
    run: async (argv, log) => {
      const i = argv.indexOf('--spec');
      if (i < 0 || argv[i + 1] === undefined) throw new UsageError(['--spec: missing value'], 'usage: meshlens demo-apps --spec <json>');
      const { runDemoApps } = await import('../demo/index.ts');
      return runDemoApps(argv[i + 1], log);
    },
  },
  schema: { run: async (argv, log) => (await import('./schema.ts')).run(argv, log) },
  policy: { run: async (argv, log) => (await import('./policy.ts')).run(argv, log) },
  collector: {
    serves: true,
    run: async (argv, log) => {
      const { COLLECTOR_FLAGS, runCollector } = await import('./collector.ts');
      return runCollector(parseFlags('collector', summary.collector, argv, COLLECTOR_FLAGS), log);
    },
  },
  status: {
    run: async (argv, log) => {
      const { printStatus, STATUS_FLAGS } = await import('./status.ts');
      return printStatus(parseFlags('status', summary.status, argv, STATUS_FLAGS), log);
    },
  },
  token: { run: async (argv, log) => (await import('./identity-commands.ts')).runToken(argv, log) },
  ca: { run: async (argv, log) => (await import('./identity-commands.ts')).runCa(argv, log) },
  actions: { run: async (argv) => (await import('./tuning-commands.ts')).runActions(argv) },
  rollout: { run: async (argv) => (await import('./tuning-commands.ts')).runRollout(argv) },
  tuning: { run: async (argv) => (await import('./tuning-commands.ts')).runTuning(argv) },
  report: { run: async (argv) => (await import('./report.ts')).runReport(argv) },
  detect: { run: async (argv, log) => (await import('../models/detect-cli.ts')).run(argv, log) },
  replay: {
    run: async (argv) => {
      const { REPLAY_FLAGS, runReplay } = await import('./replay.ts');
      await runReplay(parseFlags('replay', summary.replay, argv, REPLAY_FLAGS));
    },
  },
};

function help(): string {
  const rows = Object.entries(summary).map(([name, text]) => `  ${name.padEnd(10)} ${text}`);
  return `meshlens: a service mesh that watches itself\n\nusage: meshlens <command> [flags]\n\n${rows.join('\n')}\n\nmeshlens <command> --help shows a command's flags.`;
}

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
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
