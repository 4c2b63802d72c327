import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startDemoMesh, startLoad, DEMO_TOPOLOGY, type DemoMesh } from '../demo/index.ts';
import { demoControl, startTestControl, tempDir } from './stack.ts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

test('the UI of a running mesh shows every demo service and a live, non-zero request rate on an edge', { timeout: 120_000 }, async () => {
  const dir = tempDir('ui-live');
  const lines: string[] = [];
  const core = await startTestControl(dir.path, lines);
  let mesh: DemoMesh | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    mesh = await startDemoMesh({ control: demoControl(core), log: (l) => lines.push(l) });
    load = startLoad({ target: mesh.ingressUrl, rps: 40 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    // As a person would: the URL `meshlens control` printed, which carries the operator token.
    const printed = /^ui: (http:\/\/\S+\/\?token=\S+)$/.exec(lines.find((l) => l.startsWith('ui: ')) ?? '')?.[1];
    assert.equal(printed, `${core.uiUrl}/?token=${core.operatorToken}`);
    await page.goto(printed!);
    assert.equal(page.url(), `${core.uiUrl}/`, 'signed in, the token left the address bar');
    for (const s of DEMO_TOPOLOGY) {
      await page.waitForSelector(`#service-graph g.node[data-service="${s.name}"]`, { timeout: 30_000 });
    }
    const edge = page.locator('#service-graph g.edge[data-src="cart"][data-dst="payments"]');
    await edge.waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => {
      const e = document.querySelector('#service-graph g.edge[data-src="cart"][data-dst="payments"]');
      return e !== null && Number(e.getAttribute('data-rps')) > 0;
    }, undefined, { timeout: 30_000 });
    assert.ok(Number(await edge.getAttribute('data-rps')) > 0);
    await page.screenshot({ path: `${dir.path}/ui.png` });
  } catch (e) {
    console.error(lines.slice(-40).join('\n'));
    throw e;
  } finally {
    await browser?.close();
    await load?.stop();
    await mesh?.close();
    await core.close();
    dir.remove();
  }
});
