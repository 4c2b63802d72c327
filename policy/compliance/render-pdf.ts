// A report's HTML page printed to PDF by Debian's Chromium through
// playwright-core: A4, backgrounds kept (the status colours), the report id
// and its SHA-256 on every page, "page n of m" in the footer.
//
// playwright-core is imported when a PDF is asked for, not when this file
// loads, so everything else about reports works where it is not installed.

import { access, constants } from 'node:fs/promises';
import { readEmbeddedReport } from './embedded-report.ts';
import { escapeHtml } from './html-escape.ts';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, and without the background networking a closed machine refuses (as ui/testing/chromium.ts). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export interface PdfOptions {
  /** The Chromium to print with (default /usr/bin/chromium, Debian's package `chromium`). */
  chromiumPath?: string;
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
    return await page.pdf({
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
  } finally {
    await browser.close();
  }
}
