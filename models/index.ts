// models/: anomaly detection for services and edges. The only public door.

export { trainDetector, loadDetector, saveDetector, Detector, DETECTOR_VERSION } from './detector.ts';
export type { TrainOptions, DetectorMeta, WindowScore, FeatureShare } from './detector.ts';
export { AlertTracker, type Alert } from './alerts.ts';
export { tfBackend } from './backend.ts';
export type { Series } from './series.ts';
export { ROLLUP_FEATURES } from './scenario.ts';
