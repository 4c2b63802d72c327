// `meshlens control`: the control plane process: the store, a tap collector
// (embedded: on the control plane's POST /v1/taps; kafka: a consumer-group
// member), the control plane (registry, config streams) and the web UI,
// composed here and nowhere else.

import { resolve } from 'node:path';
import { Collector, GroupCommit, handleTapPost, type CollectorCounters, type TapStore } from '../ingest/index.ts';
import { startControlPlane, type ControlPlane, type ScaleActuator } from '../mesh/control/index.ts';
import { startUi } from '../ui/index.ts';
import { operatorToken } from '../access/index.ts';
import { readAuthzPolicy } from './authz-policy.ts';
import { IDENTITY_FLAGS, identityProblems, openCertificateAuthority } from './identity.ts';
import { startCollectorOnKafka } from './collector.ts';
import { MODEL_FLAGS, modelProblems, startModels } from './models.ts';
import { TUNING_FLAGS, tuningOptions, tuningProblems } from './tuning.ts';
import { REPORT_FLAGS, reportProblems, startReports } from './reports.ts';
import { listFlag, splitHostPort, type FlagSpec, type FlagValues } from './flags.ts';
import { BUS_FLAGS, busProblems, openStore, requireValid, STORE_FLAGS, storeProblems } from './store.ts';

export const CONTROL_FLAGS: FlagSpec[] = [
  ...STORE_FLAGS,
  ...BUS_FLAGS,
  { name: 'collector', type: 'bool', default: true, help: 'run a collector in this process (with --bus kafka, one member of the group)' },
  { name: 'listen', type: 'hostport', env: 'MESHLENS_CONTROL_LISTEN', default: '127.0.0.1:7071', help: 'control plane address (config streams, embedded tap collector)' },
  { name: 'policy', type: 'string', env: 'MESHLENS_POLICY', help: `inbound authorization policy for every sidecar: .rego file, directory or OPA bundle .tar.gz (entrypoint meshlens/authz/decision; meshlens up: the demo shop's, '' for none)` },
  { name: 'control-host', type: 'string', env: 'MESHLENS_CONTROL_HOSTS', help: 'more names the control plane answers to and its certificate covers, comma-separated (always: its address, localhost, 127.0.0.1, [::1])' },
  { name: 'ui', type: 'hostport', env: 'MESHLENS_UI_LISTEN', default: '127.0.0.1:7070', help: 'web UI address' },
  { name: 'ui-host', type: 'string', env: 'MESHLENS_UI_HOSTS', help: 'more names the UI answers to, NAME or NAME:PORT, comma-separated (always: its address, localhost, 127.0.0.1, [::1])' },
  ...IDENTITY_FLAGS,
  ...MODEL_FLAGS,
  ...TUNING_FLAGS,
  ...REPORT_FLAGS,
];

export interface RunningControl {
  store: TapStore;
  /** The collector in this process; with --no-collector its counters stay zero. */
  collector: { counters(): CollectorCounters };
  control: ControlPlane;
  uiUrl: string;
  /** PEM file of the trust bundle sidecars check the control plane with. */
  trustBundleFile: string;
  /** The operator token: the UI's (?token=, cookie, Bearer), kept in <data-dir>/operator-token. */
  operatorToken: string;
  close(): Promise<void>;
}

/**
 * `extra.status`: more fields for the control status (GET /v1/status and the UI's), e.g. `meshlens up`'s demo isolation;
 * `extra.scaler`: what `--scaler demo` scales with (the demo mesh, once it runs).
 */
export async function runControl(
  f: FlagValues, log: (line: string) => void, extra: { status?: () => Record<string, unknown>; scaler?: () => ScaleActuator | null } = {},
): Promise<RunningControl> {
  requireValid('control', [...storeProblems(f), ...busProblems(f), ...modelProblems(f), ...identityProblems(f), ...tuningProblems(f), ...reportProblems(f)]);
  // Before the store: a token file with loose permissions stops the start at once.
  const operatorCredential = await operatorToken(f['data-dir'] ? resolve(String(f['data-dir'])) : undefined);
  log(`operator token: ${operatorCredential.file ? `${operatorCredential.created ? 'made ' : ''}${operatorCredential.file}` : 'in memory (no --data-dir)'}`);
  const { store, describe } = await openStore(f);
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const closeAll = async () => { for (const c of closers.splice(0).reverse()) await c(); };
  try {
    log(`store: ${describe}, ${await store.countTaps({})} taps already stored`);

    // Every collector believes only batches signed by a sidecar certificate of this CA.
    const { ca, bundleFile } = await openCertificateAuthority(f, log);
    const trust = () => ca.bundle;
    // Embedded: the collector sits behind POST /v1/taps. Kafka: it consumes the topic.
    const embedded = f.bus === 'embedded' && f.collector ? new Collector(store, { trust }) : null;
    // With no collector here (--no-collector), an unstarted one stands in: its counters stay zero.
    let collector: { counters(): CollectorCounters; close(): Promise<void> } = embedded ?? new Collector(store, { trust });
    if (embedded) await embedded.start();
    // Sidecars' batches that arrive within 200 ms go to the store as one INSERT.
    const group = embedded ? new GroupCommit(embedded, { lingerMs: 200, maxWrites: 1 }) : undefined;
    if (f.bus === 'kafka' && f.collector) collector = await startCollectorOnKafka(f, store, log, trust);
    closers.push(() => collector.close());

    const listen = splitHostPort(String(f.listen));
    const policyBundle = f.policy ? await readAuthzPolicy(String(f.policy)) : undefined;
    const tuning = await tuningOptions(f, store, extra.scaler ?? (() => null));
    const uiAddr = splitHostPort(String(f.ui));
    const reports = startReports(f, store, log, `http://${uiAddr.host.includes(':') ? `[${uiAddr.host}]` : uiAddr.host}:${uiAddr.port}`, trust);
    closers.push(async () => { await reports.schedule?.close(); });
    const control = await startControlPlane({
      host: listen.host, port: listen.port, policyBundle, ca, operatorToken: operatorCredential.token, tuning,
      // Every change to what sidecars enforce, kept in the store's config_changes (compliance reports read it).
      changes: store,
      serverNames: listFlag(f, 'control-host'),
      svidTtlMs: Number(f['svid-ttl-s']) * 1000, log: (m) => log(`control: ${m}`),
      // The sender is the proxy the client certificate proves; a batch under another proxy's name is refused.
      taps: embedded ? (req, res, sender) => handleTapPost(embedded, req, res, { group, sender }) : undefined,
      extraStatus: () => ({
        bus: f.bus, collector: collector.counters(), reports: { ...reports.api.service.counters, schedule: reports.schedule?.counters ?? null }, ...extra.status?.(),
      }),
      reports: reports.api,
      // POST /v1/policy/replay reads the recorded inbound requests here.
      policyReplay: { store },
    });
    closers.push(() => control.close());
    log(`control plane: ${control.url} (config streams${embedded ? ', tap collector' : ''})`);
    const pol = control.status().policy;
    log(pol.digest ? `inbound policy: ${pol.source}, bundle ${pol.digest.slice(0, 12)} (${pol.bytes} bytes); replace with PUT ${control.url}/v1/policy/bundle (Authorization: Bearer <operator token>)` : 'inbound policy: none (sidecars let every request through)');

    if (control.tuning) {
      const t = control.tuning.status();
      log(`tuning: policy ${t.policy.source} (${t.policy.digest.slice(0, 12)}), every ${t.tick_ms / 1000} s; modes ${Object.entries(t.modes).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    }

    // The UI's status: the control plane's, plus the tap loss ClickHouse has recorded.
    const models = await startModels(f, store, log, () => control.tuning?.nudge());
    if (models) closers.push(() => models.close());
    const uiStatus = {
      async status() {
        const lost = (await store.lossSummary()).reduce((n, l) => n + l.events, 0);
        // Refused tap frames (forged, wrong sender, broken chain), as ClickHouse has them: visible, never silent.
        const refused = await store.countRejects({});
        return { ...control.status(), tap_lost_events: lost, tap_rejected_frames: refused, ...(models ? { models: models.counters() } : {}) };
      },
    };
    const ui = await startUi({ store, host: uiAddr.host, port: uiAddr.port, control: uiStatus, models: models ?? undefined, tuning: control.tuning ?? undefined, reports: reports.api, token: operatorCredential.token, hosts: listFlag(f, 'ui-host'), log });
    closers.push(() => ui.close());
    log(`ui: ${ui.loginUrl}`);

    return { store, collector, control, uiUrl: ui.url, trustBundleFile: bundleFile, operatorToken: operatorCredential.token, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
