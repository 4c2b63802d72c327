// Every `meshlens` command's one-line summary, for `meshlens --help` and each
// command's own usage. Kept apart from the commands so that the help, and
// cli/main.ts's table, load none of them: a command's module (and what it
// pulls in, tensorflow.js, chdb, express, kafkajs …) loads only when it runs.

import { summary as detectSummary } from '../models/detect-cli.ts'; // light by design: tfjs loads when detect runs

export const COMMAND_SUMMARIES = {
  up: 'Run the whole loop on this machine: control plane, collector, ClickHouse (chdb), UI and a demo mesh.',
  control: 'Run the control plane with the embedded collector, ClickHouse (chdb) and the UI.',
  sidecar: 'Run a sidecar proxy (see `meshlens sidecar --help`).',
  'demo-apps': 'Run demo workloads from a JSON spec (used by `meshlens up`).',
  schema: 'Print the ClickHouse DDL: single node, or a cluster with --cluster NAME; --legacy for servers before 22.2.',
  policy: 'Rego policies as OPA WebAssembly: build a bundle, eval an entrypoint, test test_* rules, replay a draft over recorded traffic.',
  collector: 'Run a tap collector: one member of the Kafka consumer group, writing to ClickHouse.',
  status: 'Show the control plane\'s registry, sidecars and collector counters.',
  token: 'Issue a one-use join token for a sidecar\'s first certificate: meshlens token create --service S --proxy P.',
  ca: 'Rotate the mesh CA: meshlens ca rotate (the new root signs after one certificate lifetime).',
  actions: 'List the tuning engine\'s actions (what, why, guardrails, ACKs, verification): meshlens actions [--since 1h] [--json].',
  rollout: 'Roll a version out step by step while the canary judge calls it healthy: meshlens rollout start|status|abort.',
  tuning: 'The tuning engine\'s state, and its pause switch: meshlens tuning status|pause|resume.',
  report: 'Compliance reports from recorded traffic: meshlens report [--from 24h] [--pack baseline] [--format pdf --out r.pdf] | list | verify <file>.',
  detect: detectSummary,
  replay: 'Replay the live anomaly detector over stored rollups on a simulated clock and print its trainings and alerts.',
} as const;

export type CommandName = keyof typeof COMMAND_SUMMARIES;
