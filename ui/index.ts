// Public surface of ui/: the web UI server and the pure graph layout it draws with.

export { startUi, DEFAULT_UI_PORT, type UiOptions, type RunningUi } from './server.ts';
export { UI_ERRORS, UiError, type UiErrorCode } from './api/errors.ts';
export { UI_ACTOR, type TuningControl, type RolloutBody } from './api/tuning.ts';
export { type ReportsControl } from './api/reports.ts';
export * from './graph/index.ts';
