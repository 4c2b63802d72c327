// The flags of `npm run bench:ingest`, both modes: live (./ingest.ts,
// producers and collector together) and --drain (./ingest-drain.ts, the
// topic filled first). One parser, so a flag means the same in both; each
// mode names the stores it can run and whether --unsigned applies.

import { intFlag } from './args.ts';

export type IngestStore = 'chdb' | 'clickhouse' | 'cluster';

export interface IngestFlags {
  rounds: number;
  taps: number;
  producers: number;
  batch: number;
  partitions: number;
  sidecars: number;
  /** --stores (or --backends): where the collector writes. */
  stores: IngestStore[];
  groupMb: number;
  lingerMs: number | undefined;
  groupWrites: number | undefined;
  /** Sidecars sign their batches (frame schema 4); --unsigned, drain mode only, turns it off. */
  signed: boolean;
}

export interface IngestMode {
  /** For messages: `bench:ingest` or `bench:ingest --drain`. */
  name: string;
  /** The stores this mode can run; all of them by default. */
  stores: readonly IngestStore[];
  /** Whether --unsigned is a flag of this mode. */
  unsigned: boolean;
}

/** The flags, or exit 2 naming every problem. */
export function parseIngestFlags(argv: string[], mode: IngestMode): IngestFlags {
  const f: IngestFlags = {
    rounds: 1, taps: 1_000_000, producers: 2, batch: 1_000, partitions: 24, sidecars: 24, stores: [...mode.stores],
    groupMb: 16, lingerMs: undefined, groupWrites: undefined, signed: true,
  };
  const problems: string[] = [];
  const int = intFlag(problems);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--drain': break; // the mode itself (./ingest.ts dispatches on it)
      case '--quick': f.taps = 200_000; break;
      case '--unsigned':
        if (mode.unsigned) f.signed = false;
        else problems.push(`unknown flag ${a}`);
        break;
      case '--rounds': f.rounds = int(a, argv[++i], 1); break;
      case '--taps': f.taps = int(a, argv[++i], 1_000); break;
      case '--producers': f.producers = int(a, argv[++i], 1); break;
      case '--batch': f.batch = int(a, argv[++i], 1); break;
      case '--partitions': f.partitions = int(a, argv[++i], 1); break;
      case '--sidecars': f.sidecars = int(a, argv[++i], 1); break;
      case '--group-mb': f.groupMb = int(a, argv[++i], 1); break;
      case '--group-linger-ms': f.lingerMs = int(a, argv[++i], 0); break;
      case '--group-writes': f.groupWrites = int(a, argv[++i], 1); break;
      case '--stores': case '--backends': {
        const list = (argv[++i] ?? '').split(',') as IngestStore[];
        if (list.some((s) => !mode.stores.includes(s))) problems.push(`${a} takes ${mode.stores.join(', ')}, got ${list.join(',')}`);
        f.stores = list;
        break;
      }
      default: problems.push(`unknown flag ${a}`);
    }
  }
  if (problems.length > 0) {
    process.stderr.write(`${mode.name}: ${problems.join('; ')}\n`);
    process.exit(2);
  }
  return f;
}
