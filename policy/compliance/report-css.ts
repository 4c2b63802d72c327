// The report page's style sheet, inline in the page. Printed (A4, by
// ./render-pdf.ts or a browser) it keeps colours, repeats table heads on
// each page and keeps a control's heading with what follows it.

export const REPORT_CSS = `
@page { size: A4; margin: 18mm 12mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 10.5pt/1.4 system-ui, "DejaVu Sans", sans-serif; color: #1f2328; margin: 0 auto; max-width: 1100px; padding: 16px; }
h1 { font-size: 20pt; margin: 0 0 4px; }
h2 { font-size: 13pt; margin: 0 0 6px; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 12px 0 4px; break-after: avoid; }
.period { font-size: 12pt; margin: 0 0 8px; }
.muted { color: #59636e; }
.mono, code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 9pt; overflow-wrap: anywhere; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.stamp { font-weight: 600; }
.totals { font-size: 11pt; padding: 8px 10px; border: 1px solid #d1d9e0; border-radius: 6px; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; border: 1px solid; font-size: 8.5pt; font-weight: 700; letter-spacing: .02em; white-space: nowrap; vertical-align: 1px; }
.badge.status-pass { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.badge.status-fail { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.badge.status-not_applicable { color: #424a53; background: #eaeef2; border-color: #afb8c1; }
.badge.status-insufficient_evidence { color: #7d4e00; background: #fff8c5; border-color: #d4a72c; }
.badge.status-unknown { color: #1f2328; background: #fff; border-color: #1f2328; }
section.control, section.block { border-top: 2px solid #d1d9e0; padding-top: 10px; margin-top: 18px; }
section.control.status-fail { border-top-color: #cf222e; }
section.control.status-pass { border-top-color: #1a7f37; }
section.control.status-insufficient_evidence { border-top-color: #bf8700; }
.control-head { break-inside: avoid; }
.id { font-weight: 400; font-size: 9pt; }
.summary { font-weight: 600; }
.error { color: #a40e26; border-left: 3px solid #cf222e; padding-left: 8px; overflow-wrap: anywhere; }
dl.clauses { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 9pt; }
dl.clauses dt { font-weight: 600; }
dl.clauses dd { margin: 0; }
dl.clauses ul { margin: 0; padding: 0; list-style: none; }
figure { margin: 8px 0; break-inside: avoid; }
svg.chart { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 8.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 1px solid #d1d9e0; padding: 2px 4px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f6f8fa; overflow-wrap: normal; }
td.w { overflow-wrap: break-word; }
.common { font-size: 9pt; margin: 4px 0; }
table.glance { font-size: 9.5pt; }
a { color: #0550ae; }
@media print { body { max-width: none; padding: 0; } a { text-decoration: none; } }
`;
