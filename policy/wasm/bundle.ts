/**
 * OPA bundles (gzipped tar): /policy.wasm, /data.json, /.manifest with the
 * wasm entrypoints as `opa build -t wasm` writes them, plus the Rego
 * sources. The tar (ustar) is written and read here: a 512-byte header per
 * file, contents padded to 512, two zero blocks at the end.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export interface Bundle {
  wasm: Uint8Array;
  data: unknown;
  manifest: { revision: string; roots: string[]; wasm: { entrypoint: string; module: string }[] };
  /** Other files by path without the leading slash (the Rego sources). */
  files: Record<string, Uint8Array>;
}

export function writeBundle(wasm: Uint8Array, entrypoints: string[], data: unknown, sources: Record<string, string>): Buffer {
  const manifest = { revision: '', roots: [''], wasm: entrypoints.map((entrypoint) => ({ entrypoint, module: '/policy.wasm' })) };
  const enc = new TextEncoder();
  const entries: [string, Uint8Array][] = [
    ['/data.json', enc.encode(JSON.stringify(data ?? {}))],
    ...Object.entries(sources).map(([p, s]) => ['/' + p.replace(/^\.?\/+/, ''), enc.encode(s)] as [string, Uint8Array]),
    ['/policy.wasm', wasm],
    ['/.manifest', enc.encode(JSON.stringify(manifest))],
  ];
  const blocks: Uint8Array[] = [];
  for (const [name, body] of entries) {
    blocks.push(header(name, body.length), body, new Uint8Array((512 - (body.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(blocks));
}

function header(name: string, size: number): Uint8Array {
  const h = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 100) throw new Error(`bundle: path longer than 100 bytes: ${name}`);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100); h.write('0000000\0', 108); h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

export function readBundle(gz: Uint8Array): Bundle {
  const tar = gunzipSync(gz);
  const files: Record<string, Uint8Array> = {};
  let longName: string | undefined;
  for (let pos = 0; pos + 512 <= tar.length;) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const str = (o: number, n: number) => { const s = h.subarray(o, o + n); const z = s.indexOf(0); return Buffer.from(z < 0 ? s : s.subarray(0, z)).toString('utf8'); };
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = str(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = undefined;
    const body = tar.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = Buffer.from(body).toString('utf8').replace(/\0+$/, ''); continue; }
    if (type !== '0' && type !== '\0') continue;
    name = name.replace(/^\.?\/+/, '');
    files[name] = new Uint8Array(body);
  }
  const wasm = files['policy.wasm'];
  if (!wasm) throw new Error('bundle: no /policy.wasm (build it with a wasm target)');
  const text = (p: string) => (files[p] ? new TextDecoder().decode(files[p]) : undefined);
  const manifest = JSON.parse(text('.manifest') ?? '{"revision":"","roots":[""],"wasm":[]}');
  // OPA bundles may carry data.json at any depth: dir/data.json is the value at data.dir.
  let data: Record<string, unknown> = {};
  const rest = { ...files };
  delete rest['policy.wasm']; delete rest['.manifest'];
  for (const p of Object.keys(files).filter((f) => f === 'data.json' || f.endsWith('/data.json')).sort((a, b) => a.length - b.length)) {
    let value: unknown;
    try { value = JSON.parse(text(p)!); } catch (e) { throw new Error(`bundle: /${p} is not JSON: ${(e as Error).message}`); }
    data = mergeAt(data, p.split('/').slice(0, -1), value);
    delete rest[p];
  }
  return { wasm, data, manifest, files: rest };
}

function mergeAt(root: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
  if (!path.length) return isObj(value) ? { ...root, ...value } : root;
  const child = isObj(root[path[0]]) ? root[path[0]] as Record<string, unknown> : {};
  return { ...root, [path[0]]: mergeAt(child, path.slice(1), value) };
}
