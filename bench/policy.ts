// npm run bench:policy [-- --decisions N]
//
// One realistic mesh authorization policy (service ACL by SPIFFE identity,
// method and path prefix, anomaly-score override, per-service admin bypass)
// decided in-process, three ways, interleaved in the same run:
//   wasm/meshlens   Rego compiled by meshlens to OPA-ABI WebAssembly, evaluated through @open-policy-agent/opa-wasm
//   reference       the same Rego through meshlens' TypeScript reference evaluator (policy/eval.ts)
//   hand-written    a TypeScript function doing the same check (the floor)
// Each decision is timed alone (hrtime); figures are decisions/s, p50/p99 µs
// and the ratio to the hand-written check. All three must agree on every input.

import { compileModules, compileToWasm, evaluate, loadWasmPolicy } from '../policy/index.ts';

const POLICY = `package mesh.authz

default allow := false

allow if {
  not blocked
  some rule in data.acl[input.destination.service]
  rule.source == input.source.spiffe_id
  input.request.method in rule.methods
  some prefix in rule.paths
  startswith(input.request.path, prefix)
}

allow if {
  not blocked
  input.source.spiffe_id in data.admins
}

blocked if input.anomaly.score > data.thresholds[input.destination.service]
blocked if input.source.spiffe_id in data.denylist
`;

const SERVICES = ['cart', 'checkout', 'catalog', 'payments', 'users', 'search', 'reviews', 'shipping'];
const id = (s: string) => `spiffe://mesh.local/ns/shop/sa/${s}`;
function makeData() {
  const acl: Record<string, unknown[]> = {};
  const thresholds: Record<string, number> = {};
  for (const [i, dst] of SERVICES.entries()) {
    acl[dst] = SERVICES.filter((_, j) => j !== i).slice(0, 5).map((src, k) => ({ source: id(src), methods: k % 2 ? ['GET'] : ['GET', 'POST', 'PUT'], paths: [`/api/v1/${dst}/`, '/healthz'] }));
    thresholds[dst] = 0.9;
  }
  return { acl, thresholds, admins: [id('ops-console')], denylist: [id('legacy-batch')] };
}
type Data = ReturnType<typeof makeData>;
type Input = { source: { spiffe_id: string }; destination: { service: string }; request: { method: string; path: string }; anomaly: { score: number } };

function handWritten(input: Input, data: Data): boolean {
  const src = input.source.spiffe_id, dst = input.destination.service;
  const blocked = input.anomaly.score > (data.thresholds[dst] ?? Infinity) || data.denylist.includes(src);
  if (blocked) return false;
  if (data.admins.includes(src)) return true;
  for (const rule of (data.acl[dst] ?? []) as { source: string; methods: string[]; paths: string[] }[]) {
    if (rule.source === src && rule.methods.includes(input.request.method) && rule.paths.some((p) => input.request.path.startsWith(p))) return true;
  }
  return false;
}

function makeInputs(n: number): Input[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  return Array.from({ length: n }, () => {
    const dst = pick(SERVICES);
    return {
      source: { spiffe_id: id(rnd() < 0.02 ? 'ops-console' : rnd() < 0.02 ? 'legacy-batch' : pick(SERVICES)) },
      destination: { service: dst },
      request: { method: pick(['GET', 'GET', 'POST', 'PUT', 'DELETE']), path: rnd() < 0.9 ? `/api/v1/${dst}/items/${Math.floor(rnd() * 1000)}` : '/admin/flush' },
      anomaly: { score: rnd() },
    };
  });
}

function stats(name: string, ns: number[], floor?: number) {
  const s = [...ns].sort((a, b) => a - b);
  const total = ns.reduce((a, b) => a + b, 0);
  const perSec = ns.length / (total / 1e9);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] / 1000;
  return { name, perSec, p50: q(0.5), p99: q(0.99), ratio: floor ? floor / perSec : 1 };
}

const argv = process.argv.slice(2);
const n = Number(argv[argv.indexOf('--decisions') + 1]) || 50_000;
const data = makeData();
const inputs = makeInputs(n);
const ep = 'mesh/authz/allow';
const wasm = await loadWasmPolicy(await compileToWasm({ 'authz.rego': POLICY }, [ep]));
wasm.setData(data);
const ref = compileModules({ 'authz.rego': POLICY }, [ep]);

const runners: [string, (i: Input) => boolean][] = [
  ['hand-written TypeScript', (i) => handWritten(i, data)],
  ['wasm/meshlens via opa-wasm', (i) => (wasm.evaluate(i, ep) as { result: boolean }[])[0].result],
  ['reference evaluator (TS)', (i) => evaluate(ref, ep, i, data)[0].result as boolean],
];

// Agreement first: a benchmark of wrong answers is worthless.
let allowed = 0;
for (const i of inputs.slice(0, 2000)) {
  const answers = runners.map(([, f]) => f(i));
  if (new Set(answers).size !== 1) throw new Error(`engines disagree on ${JSON.stringify(i)}: ${answers}`);
  if (answers[0]) allowed++;
}

const times = runners.map(() => [] as number[]);
const ROUND = 1000;
for (let r = 0; r < n; r += ROUND) {
  for (const [k, [, f]] of runners.entries()) {
    // the reference evaluator is slow; give it a tenth of the decisions
    const end = k === 2 ? Math.min(n, r + ROUND / 10) : Math.min(n, r + ROUND);
    for (let j = r; j < end; j++) {
      const t0 = process.hrtime.bigint();
      f(inputs[j]);
      times[k].push(Number(process.hrtime.bigint() - t0));
    }
  }
}

const rows = runners.map(([name], k) => stats(name, times[k]));
const floor = rows[0].perSec;
console.log(`policy decisions: ${n} inputs (${Math.round((allowed / 2000) * 100)}% allowed in the agreement sample), ${SERVICES.length} services, same run, interleaved\n`);
console.log(`${'engine'.padEnd(30)} ${'decisions/s'.padStart(12)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'× slower than hand-written'.padStart(27)}`);
for (const r of rows) console.log(`${r.name.padEnd(30)} ${Math.round(r.perSec).toString().padStart(12)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(9)} ${(floor / r.perSec).toFixed(1).padStart(27)}`);
