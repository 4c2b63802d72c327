// Public surface of the tuning engine (see engine.ts and docs/tuning.md).
export * from './contract.ts';
export { TuningEngine, TuningError, type TuningEngineOptions, type TuningCounters } from './engine.ts';
export { TuningPolicy, DEFAULT_TUNING_POLICY_DIR, type TuningPolicyStatus } from './tuning-policy.ts';
export { DEFAULT_TUNING_SETTINGS, DEFAULT_BOUNDS, TUNING_MODES, parseModes, type TuningMode, type TuningSettings, type TuningBounds } from './settings.ts';
export { applyGuardrails, percentages, type ActionParams, type SubsetShare } from './guardrails.ts';
export { judgeCanary, fisherGreater, signTestGreater, DEFAULT_JUDGE, type JudgeOptions, type VersionBucket } from './judge.ts';
export { buildInput, signals, BUCKET_MS, type TuningSources, type MeshView, type BucketFigures, type InstanceFigures } from './input.ts';
export type { MeshControl } from './actuate.ts';
export type { ActionLog } from './action-book.ts';
export { RolloutError, DEFAULT_STEPS, DEFAULT_INTERVAL_S, type RolloutState, type RolloutRequest } from './rollouts.ts';
export { KubernetesScaleActuator, KubernetesScaleError, inClusterAccess, type ScaleActuator } from './kubernetes-scale.ts';
export { storeSources } from './store-sources.ts';
