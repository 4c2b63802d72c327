// A control pack for UI tests whose every string is hostile: a title and a
// clause holding markup, a summary holding an <img onerror> and the first
// plaintext request path it saw (the shop's traffic carries no mTLS), and
// that request as its counterexample. Issued through the real ReportService
// like any pack: a folder of Rego the compliance engine compiles.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHOP_CALLS, type ShopCall } from './shop-traffic.ts';

export const HOSTILE_SUMMARY = '<img src=x onerror="window.__pwned=1"> first plaintext path:';
export const HOSTILE_PATH = '/search?q=<img src=x onerror=window.__pwned=2>&t=</script>';
export const HOSTILE_TITLE = 'Echoes what it saw <b>as given</b>';
export const HOSTILE_CLAUSE_TEXT = '<script>window.__pwned=3</script>';

/** The demo shop's calls plus requests whose path is markup, on an edge of their own (so they are its oldest samples). */
export const HOSTILE_CALLS: readonly ShopCall[] = [
  ...SHOP_CALLS,
  { src: 'web', dst: 'search', method: 'GET', path: HOSTILE_PATH, count: 3, failEvery: 0, latencyMs: 7 },
];

const REGO = `package meshlens.compliance.echo_path

metadata := {
	"title": ${JSON.stringify(HOSTILE_TITLE)},
	"description": "A test control whose strings come from the network.",
	"clauses": {"soc2": [{"id": "CC<i>7</i>", "text": ${JSON.stringify(HOSTILE_CLAUSE_TEXT)}}]},
}

samples := [s | some e in input.edges; e.dst == "search"; some s in e.samples.plaintext]

default status := "not_applicable"

status := "fail" if {
	count(samples) > 0
}

default summary := "no request to search"

summary := sprintf("%s %s", [${JSON.stringify(HOSTILE_SUMMARY)}, samples[0].path]) if {
	count(samples) > 0
}

counterexamples := samples

evidence := {"samples": count(samples), "edges": count(input.edges)}
`;

/** Writes the pack into `dir` (made if missing) and answers its folder. */
export async function writeHostilePack(dir: string): Promise<string> {
  const packDir = join(dir, 'echo');
  await mkdir(packDir, { recursive: true });
  await writeFile(join(packDir, 'echo_path.rego'), REGO);
  return packDir;
}
