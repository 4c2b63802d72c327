// The operator token as `meshlens up` and `meshlens control` handle it: made
// 0600 in the data dir at first start, printed in the UI's URL, the same after
// a restart, and a start refused while the file is readable by others.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlags } from '../cli/flags.ts';
import { UP_FLAGS, runUp } from '../cli/up.ts';
import { startTestControl, tempDir } from './stack.ts';

test('the first start makes <data-dir>/operator-token 0600 and prints the UI URL with it; a restart keeps it; a 0644 file stops the start', { timeout: 120_000 }, async () => {
  const dir = tempDir('operator-token');
  const file = join(dir.path, 'operator-token');
  try {
    const lines: string[] = [];
    const up = await runUp(parseFlags('up', '', [
      '--data-dir', dir.path, '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', '--no-demo', '--no-models',
    ], UP_FLAGS, {}), (l) => lines.push(l));
    let token: string;
    try {
      token = (await readFile(file, 'utf8')).trim();
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.ok(lines.includes(`operator token: made ${file}`), lines.join('\n'));
      const printed = /^meshlens is up: open (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+) \(Ctrl-C stops\)$/.exec(lines.find((l) => l.startsWith('meshlens is up')) ?? '');
      assert.ok(printed, lines.join('\n'));
      assert.equal(printed[2], token);
      assert.equal((await fetch(`${printed[1]}/api/status`)).status, 401, 'the UI wants the token');
      assert.equal((await fetch(`${printed[1]}/api/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    } finally {
      await up.close();
    }

    const again: string[] = [];
    const core = await startTestControl(dir.path, again, ['--no-models']);
    try {
      assert.equal(core.operatorToken, token);
      assert.ok(again.includes(`operator token: ${file}`));
      assert.ok(again.includes(`ui: ${core.uiUrl}/?token=${token}`), again.join('\n'));
    } finally {
      await core.close();
    }

    await chmod(file, 0o644);
    await assert.rejects(startTestControl(dir.path, [], ['--no-models']), (e: Error & { code?: string }) =>
      e.code === 'ACCESS_ERR_TOKEN_PERMISSIONS' && e.message.includes(`${file} has mode 0644`));
  } finally {
    dir.remove();
  }
});
