import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Child, freePorts, quietTopology, sendExactly, startDemoMesh, type DemoMesh } from '../demo/index.ts';
import { createChdbStore } from '../ingest/index.ts';
import { assertNoSidecarLoss, assertTapsPerHop, eventually, remoteDemoControl, tempDir } from './stack.ts';

const N = 1_000;

test('taps buffered by the sidecars while the collector is killed arrive once it returns, exactly once, with zero loss', { timeout: 180_000 }, async () => {
  const dir = tempDir('restart');
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const [controlPort, uiPort] = await freePorts(2);
  const controlUrl = `https://127.0.0.1:${controlPort}`;
  const startControl = () => new Child('control', ['control', '--data-dir', dir.path, '--listen', `127.0.0.1:${controlPort}`, '--ui', `127.0.0.1:${uiPort}`], log);
  const remote = remoteDemoControl(controlUrl, dir.path);
  const status = async () => (await remote.statusJson()) as unknown as {
    collector: { events_written: number; batches_duplicate: number }; proxies: { connected: boolean }[];
  };

  let control = startControl();
  let mesh: DemoMesh | undefined;
  try {
    // The control process writes its operator token and CA at start: wait until it answers.
    await eventually('control plane up', async () => { try { await status(); return true; } catch { return false; } });
    mesh = await startDemoMesh({ control: remote, topology: quietTopology(), log, readyTimeoutMs: 90_000 });
    const first = await sendExactly(mesh.ingressUrl, N / 2, 16);
    assert.deepEqual([...first], [[200, N / 2]]);

    control.kill('SIGKILL');
    await control.exited;

    // The mesh keeps serving on its last config while taps pile up in the sidecars.
    const second = await sendExactly(mesh.ingressUrl, N / 2, 16);
    assert.deepEqual([...second], [[200, N / 2]], 'traffic is unaffected by the collector being away');

    control = startControl();
    await eventually('sidecars reconnected', async () => {
      try { return (await status()).proxies.filter((p) => p.connected).length === mesh!.sidecars.size; } catch { return false; }
    });
    await mesh.close();
    await control.stop(20_000);
    assertNoSidecarLoss(lines, mesh.sidecars.size);

    const store = createChdbStore({ dataDir: dir.path });
    try {
      await store.init();
      await assertTapsPerHop(store, N);
      const heads = await store.chainHeads();
      assert.ok(heads.length >= 5);
      assert.ok(heads.every((h) => h.lost === 0), `sidecars reported loss: ${JSON.stringify(heads)}`);
    } finally {
      await store.close();
    }
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    await mesh?.close();
    await control.stop();
    dir.remove();
  }
});
