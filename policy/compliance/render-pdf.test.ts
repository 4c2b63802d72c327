import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderHtml, statusWord } from './render-html.ts';
import { renderPdf } from './render-pdf.ts';
import { sampleReport } from './testing/sample-report.ts';

const INSTALL = 'apt-get install -y --no-install-recommends poppler-utils';

/** pdftotext and pdfinfo (Debian's poppler-utils): installed when root, else the reason to skip. */
function popplerMissing(): string | null {
  if (existsSync('/usr/bin/pdftotext') && existsSync('/usr/bin/pdfinfo')) return null;
  if (process.getuid?.() !== 0) return `needs poppler-utils; run as root: apt-get update && ${INSTALL}`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const c of ['apt-get update -qq', `${INSTALL} -qq`]) {
    const r = spawnSync('sh', ['-c', c], { stdio: 'inherit', env });
    if (r.status !== 0) return `'${c}' failed; run: apt-get update && ${INSTALL}`;
  }
  return null;
}

const chromiumMissing = existsSync('/usr/bin/chromium') ? null : 'needs Chromium; run as root: apt-get install -y chromium';

test('the PDF of a long report runs over several A4 pages and holds every control title, status and the stamp', { skip: chromiumMissing ?? false }, async (t) => {
  const skip = popplerMissing();
  if (skip) { t.skip(skip); return; }
  const report = sampleReport();
  const pdf = await renderPdf(renderHtml(report, { tapLink: (p) => `/#taps?proxy=${p.proxy}&seq=${p.seq}&ts=${p.ts}` }));
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-report-pdf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'report.pdf');
  writeFileSync(file, pdf);

  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  const pages = Number(info.match(/^Pages:\s+(\d+)/m)?.[1]);
  // Four controls with 20 counterexamples each do not fit on one page, nor on two.
  assert.ok(pages > 2, `${pages} pages`);
  assert.match(info, /^Page size:.*\(A4\)$/m);

  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  for (const c of report.body.controls) {
    assert.ok(text.includes(c.title), `title of ${c.id} missing`);
    assert.ok(text.includes(`${statusWord(c.status)} ${c.title}`), `status of ${c.id} missing beside its title`);
  }
  assert.ok(text.includes(report.sha256));
  // Header and footer on every page: the stamp and "page n of m".
  assert.equal(text.split(`${report.body.id} · SHA-256 ${report.sha256}`).length - 1, pages);
  assert.ok(text.includes(`page ${pages} of ${pages}`));
});

test('printing with no Chromium at the given path fails naming that path', async () => {
  await assert.rejects(renderPdf('<p>x</p>', { chromiumPath: '/nonexistent/chromium' }), /no Chromium at \/nonexistent\/chromium/);
});
