import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessError, operatorToken, readTokenFile, TOKEN_FILE_NAME } from './index.ts';

const root = await mkdtemp(join(tmpdir(), 'meshlens-access-token-'));
let n = 0;
const freshDir = () => join(root, `d${n++}`);
after(() => rm(root, { recursive: true, force: true }));

test('the first start makes a 0600 token file in a new data dir and later starts read the same token', async () => {
  const dir = freshDir();
  const first = await operatorToken(dir);
  assert.equal(first.created, true);
  assert.equal(first.file, join(dir, TOKEN_FILE_NAME));
  assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal((await stat(first.file!)).mode & 0o777, 0o600);
  assert.equal(await readFile(first.file!, 'utf8'), `${first.token}\n`);
  assert.deepEqual(await readdir(dir), [TOKEN_FILE_NAME], 'no temporary file is left beside it');
  const again = await operatorToken(dir);
  assert.deepEqual(again, { token: first.token, file: first.file, created: false });
});

test('the token file is made 0600 even under a permissive umask', async () => {
  const old = process.umask(0);
  try {
    const t = await operatorToken(freshDir());
    assert.equal((await stat(t.file!)).mode & 0o777, 0o600);
  } finally {
    process.umask(old);
  }
});

test('without a data dir the token lives in memory and differs each time', async () => {
  const a = await operatorToken();
  const b = await operatorToken();
  assert.equal(a.file, null);
  assert.notEqual(a.token, b.token);
});

test('two starts racing on one data dir end up with the same token', async () => {
  const dir = freshDir();
  const all = await Promise.all([1, 2, 3, 4].map(() => operatorToken(dir)));
  assert.equal(new Set(all.map((t) => t.token)).size, 1);
  assert.equal(all.filter((t) => t.created).length, 1);
});

test('a token file others may read (0644, 0640, 0604) is refused naming the file, its mode and the fix', async () => {
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    const dir = freshDir();
    const { file, token } = await operatorToken(dir);
    await chmod(file!, mode);
    await assert.rejects(operatorToken(dir), (e: unknown) => {
      assert.ok(e instanceof AccessError);
      assert.equal(e.code, 'ACCESS_ERR_TOKEN_PERMISSIONS');
      assert.equal(e.path, file);
      assert.match(e.message, new RegExp(`${file}.*mode 0${mode.toString(8)}.*chmod 600`));
      assert.ok(!e.message.includes(token), 'the message does not repeat the token');
      return true;
    });
  }
});

test('a token file the owner alone may read (0400) is accepted', async () => {
  const dir = freshDir();
  const { file, token } = await operatorToken(dir);
  await chmod(file!, 0o400);
  assert.equal((await operatorToken(dir)).token, token);
});

test('a malformed token file (empty, short, spaces, two lines) is refused as malformed', async () => {
  for (const text of ['', 'short\n', `${'a'.repeat(40)} ${'b'.repeat(4)}\n`, `${'a'.repeat(40)}\n${'b'.repeat(40)}\n`, 'ä'.repeat(40)]) {
    const dir = freshDir();
    const { file } = await operatorToken(dir);
    await writeFile(file!, text, { mode: 0o600 });
    await assert.rejects(readTokenFile(file!), (e: unknown) => e instanceof AccessError && e.code === 'ACCESS_ERR_TOKEN_MALFORMED' && /delete it/.test(e.message), JSON.stringify(text));
  }
});

test('an operator-chosen token of URL-safe characters is read as it is', async () => {
  const dir = freshDir();
  const { file } = await operatorToken(dir);
  const chosen = 'my-own_Token-0123456789-abcdefghijk';
  await writeFile(file!, `${chosen}\r\n`, { mode: 0o600 });
  assert.equal((await operatorToken(dir)).token, chosen);
});

test('a token file that is a symbolic link or a directory is refused', async () => {
  const target = freshDir();
  const { file: real } = await operatorToken(target);
  const dir = freshDir();
  await operatorToken(dir);
  const file = join(dir, TOKEN_FILE_NAME);
  await rm(file);
  await symlink(real!, file);
  await assert.rejects(operatorToken(dir), (e: unknown) => e instanceof AccessError && e.code === 'ACCESS_ERR_TOKEN_FILE' && /symbolic link/.test(e.message));
  await rm(file);
  await mkdir(file, { mode: 0o700 });
  await assert.rejects(operatorToken(dir), (e: unknown) => e instanceof AccessError && e.code === 'ACCESS_ERR_TOKEN_FILE' && /not a regular file/.test(e.message));
});
