// A report's HTML page printed to PDF by Debian's Chromium through
// playwright-core: A4, backgrounds kept (the status colours), the report id
// and its SHA-256 on every page, "page n of m" in the footer.
//
// playwright-core is imported when a PDF is asked for, not when this file
// loads, so everything else about reports works where it is not installed.
//
// Chromium writes the time of printing into the PDF (/CreationDate and
// /ModDate), the only bytes that differ between two prints of one page
// (compared on Chromium 14x). They are set to the report's issue time, as
// strings of the same length so no offset in the file moves: a report
// prints to the same bytes every time, and its digest, recorded once,
// recognises every copy.

import { access, constants } from 'node:fs/promises';
import { readEmbeddedReport } from './embedded-report.ts';
import { escapeHtml } from './html-escape.ts';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, and without the background networking a closed machine refuses (as ui/testing/chromium.ts). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export interface PdfOptions {
  /** The Chromium to print with (default /usr/bin/chromium, Debian's package `chromium`). */
  chromiumPath?: string;
  /** The time written as the PDF's creation and modification date (default: the embedded report's issued_at, else Chromium's own). */
  date?: number;
}

const PDF_DATE = /\/(CreationDate|ModDate) \(D:\d{14}[^)]{0,8}\)/g;

/** The PDF with its dates set to `at` (UTC), where Chromium's are the same length as ours; otherwise as it was. */
export function pinPdfDates(pdf: Buffer, at: number): Buffer {
  const d = new Date(at).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const text = pdf.toString('latin1');
  const pinned = text.replace(PDF_DATE, (m, key: string) => {
    const next = `/${key} (D:${d}+00'00')`;
    return next.length === m.length ? next : m;
  });
  return Buffer.from(pinned, 'latin1');
}

export async function renderPdf(html: string, opts: PdfOptions = {}): Promise<Buffer> {
  const executablePath = opts.chromiumPath ?? DEFAULT_CHROMIUM_PATH;
  try {
    await access(executablePath, constants.X_OK);
  } catch {
    throw new Error(`report PDF: no Chromium at ${executablePath} to print with; install it with 'apt-get install -y chromium' `
      + 'or name another with chromiumPath');
  }
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`report PDF: playwright-core cannot be loaded (${(e as Error).message}); it is needed to drive ${executablePath}`);
  }
  const report = readEmbeddedReport(html);
  const stamp = report ? `${report.body.id} · SHA-256 ${report.sha256}` : '';
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    // The page needs no script; none runs, and none of its bytes can ask the network for anything.
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      margin: { top: '18mm', bottom: '18mm', left: '12mm', right: '12mm' },
      // Header and footer templates get no style from the page: each says its own size.
      headerTemplate: `<div style="font: 7pt sans-serif; color: #59636e; width: 100%; padding: 0 12mm; text-align: right;">${escapeHtml(stamp)}</div>`,
      footerTemplate: '<div style="font: 7pt sans-serif; color: #59636e; width: 100%; padding: 0 12mm; display: flex; justify-content: space-between;">'
        + `<span>${report ? `meshlens compliance report ${escapeHtml(report.body.id)}` : ''}</span>`
        + '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>',
    });
    const date = opts.date ?? report?.body.issued_at;
    return date === undefined ? pdf : pinPdfDates(pdf, date);
  } finally {
    await browser.close();
  }
}
