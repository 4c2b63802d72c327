// models/: anomaly detection for services and edges. The only public door.

export { trainDetector, loadDetector, saveDetector, Detector, DETECTOR_VERSION } from './detector.ts';
export type { TrainOptions, DetectorMeta, WindowScore, FeatureShare } from './detector.ts';
export { AlertTracker, type Alert } from './alerts.ts';
export { tfBackend } from './backend.ts';
export type { Series } from './series.ts';
export { ROLLUP_FEATURES } from './scenario.ts';
export { startLiveDetector, type LiveDetector, type LiveDetectorOptions, type LiveSubjectStatus, type LiveCounters } from './live.ts';
export type { AlertRecord, AlertSink, LiveScope, RollupPoint, RollupSource } from './live-types.ts';
export { LIVE_FEATURES, rollupSeries } from './rollup-series.ts';
