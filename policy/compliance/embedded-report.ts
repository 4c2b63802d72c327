// The exact report, carried inside its HTML rendering so `report verify`
// can re-check the stamp from the HTML file alone.
//
// JSON in a <script type="application/json"> element ends at the first
// "</script" whatever the JSON means, and "<!--" changes how the HTML
// parser reads on; U+2028/2029 break older JavaScript parsers. Outside its
// strings, JSON has none of <, >, &, U+2028, U+2029, so writing them as
// \uXXXX escapes inside the strings parses back to exactly the same value.

import type { ReportFile } from './contract.ts';

const OPEN = '<script type="application/json" id="meshlens-report">';
const UNSAFE = /[<>&\u2028\u2029]/g;

/** The <script> element holding `report` as JSON. */
export function embeddedReportScript(report: ReportFile): string {
  const json = JSON.stringify(report).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${OPEN}${json}</script>`;
}

/**
 * The report embedded in an HTML rendering; null when the page has none or
 * what it holds is not JSON of the shape {body: object, sha256: string}.
 * Whether the stamp holds is for the caller to check.
 */
export function readEmbeddedReport(html: string): ReportFile | null {
  const start = html.indexOf(OPEN);
  if (start < 0) return null;
  // The JSON holds no '<' (see above), so the first one closes the element.
  const end = html.indexOf('<', start + OPEN.length);
  if (end < 0 || !/^<\/script\s*>/i.test(html.slice(end, end + 12))) return null;
  let v: unknown;
  try {
    v = JSON.parse(html.slice(start + OPEN.length, end));
  } catch {
    return null;
  }
  const r = v as Partial<ReportFile> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.sha256 !== 'string' || !r.body || typeof r.body !== 'object' || Array.isArray(r.body)) return null;
  return r as ReportFile;
}
