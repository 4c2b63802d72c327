// Public surface of policy/compliance: control packs as Rego, the evidence
// document they read, reports (issue, store, render, verify) and their
// schedule. Re-exported by policy/index.ts.

export {
  CONTROL_STATUSES, REPORT_FORMAT, MAX_COUNTEREXAMPLES, controlEntrypoint,
  type ControlStatus, type ControlResult, type ReportBody, type ReportFile, type StatusTotals, type Clause,
} from './contract.ts';
export { buildEvidence, type EvidenceDocument, type EvidenceSource, type Period } from './evidence.ts';
export { loadPack, isPackPath, builtinPacks, PackError, DEFAULT_PACK, BUILTIN_PACKS_DIR, type ControlPack } from './pack.ts';
export { runControls } from './run.ts';
export { issueReport, periodProblems, MESHLENS_VERSION, MAX_PERIOD_MS } from './report.ts';
export { canonicalJson, stampOf } from './stamp.ts';
export { ReportService, renderReport, REPORT_FORMATS, type ReportFormat, type ReportStore, type ReportSummary, type RenderedReport } from './reports.ts';
export { verifyReport, readReportFile, type Verdict } from './verify.ts';
export { ReportSchedule, SETTLE_MS, type ReportScheduleOptions } from './schedule.ts';
export { renderHtml, type HtmlOptions, type TapPointer } from './render-html.ts';
export { readEmbeddedReport } from './embedded-report.ts';
export { renderPdf, DEFAULT_CHROMIUM_PATH } from './render-pdf.ts';
