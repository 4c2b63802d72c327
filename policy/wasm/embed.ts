/**
 * Embeds a plan into the base runtime module without recompiling it: one
 * active data segment is appended that writes [u32 length][plan JSON] at the
 * runtime's IR slot (its __heap_base, reported by the irSlot export); the
 * runtime's allocator starts after it and its start function parses it. The
 * imported memory's minimum is raised when the plan does not fit.
 */
const SEC_IMPORT = 2, SEC_CODE = 10, SEC_DATA = 11, SEC_DATACOUNT = 12;

function uleb(n: number): number[] {
  const out: number[] = [];
  do { let b = n & 0x7f; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f; n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
function readUleb(b: Uint8Array, pos: number): [number, number] {
  let n = 0, mul = 1;
  for (;;) { const x = b[pos++]; n += (x & 0x7f) * mul; mul *= 128; if (!(x & 0x80)) return [n, pos]; }
}

interface Section { id: number; body: Uint8Array }

function sections(wasm: Uint8Array): Section[] {
  const out: Section[] = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, p] = readUleb(wasm, pos + 1);
    out.push({ id, body: wasm.subarray(p, p + size) });
    pos = p + size;
  }
  return out;
}

const slots = new WeakMap<Uint8Array, number>();

/** The runtime's IR slot address, found by instantiating the base module against stub imports. */
export function irSlot(base: Uint8Array): number {
  let s = slots.get(base);
  if (s !== undefined) return s;
  const memory = new WebAssembly.Memory({ initial: 16 });
  const fail = () => { throw new Error('base runtime called the host while being probed'); };
  const env = { memory, opa_abort: fail, opa_println: fail, opa_builtin0: fail, opa_builtin1: fail, opa_builtin2: fail, opa_builtin3: fail, opa_builtin4: fail };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(base as BufferSource), { env });
  s = (inst.exports.irSlot as () => number)();
  slots.set(base, s);
  return s;
}

/** Rewrites the import section so that env.memory's minimum covers `bytes`. */
function raiseMemoryMin(body: Uint8Array, bytes: number): Uint8Array {
  const need = Math.ceil(bytes / 65536);
  const out: number[] = [];
  let [count, pos] = readUleb(body, 0);
  out.push(...uleb(count));
  while (count--) {
    const start = pos;
    let n: number;
    [n, pos] = readUleb(body, pos); pos += n; // module
    [n, pos] = readUleb(body, pos); pos += n; // field
    const kind = body[pos++];
    if (kind !== 2) {
      if (kind === 0) [, pos] = readUleb(body, pos);
      else if (kind === 1) { pos++; const flag = body[pos++]; [, pos] = readUleb(body, pos); if (flag & 1) [, pos] = readUleb(body, pos); }
      else pos += 2;
      out.push(...body.subarray(start, pos));
      continue;
    }
    out.push(...body.subarray(start, pos));
    const flag = body[pos++];
    let min: number, max = 0;
    [min, pos] = readUleb(body, pos);
    if (flag & 1) [max, pos] = readUleb(body, pos);
    out.push(flag, ...uleb(Math.max(min, need)));
    if (flag & 1) out.push(...uleb(Math.max(max, need)));
  }
  return new Uint8Array(out);
}

export function embedPlan(base: Uint8Array, planJson: string): Uint8Array {
  const slot = irSlot(base);
  const text = new TextEncoder().encode(planJson);
  const payload = new Uint8Array(4 + text.length);
  new DataView(payload.buffer).setUint32(0, text.length, true);
  payload.set(text, 4);
  const segment = [0x00, 0x41, ...sleb(slot), 0x0b, ...uleb(payload.length)];

  const secs = sections(base);
  let sawData = false;
  const out: Section[] = [];
  for (const s of secs) {
    if (s.id === SEC_IMPORT) { out.push({ id: s.id, body: raiseMemoryMin(s.body, slot + payload.length + 65536) }); continue; }
    if (s.id === SEC_DATACOUNT) { const [n] = readUleb(s.body, 0); out.push({ id: s.id, body: new Uint8Array(uleb(n + 1)) }); continue; }
    if (s.id === SEC_DATA) {
      const [n, p] = readUleb(s.body, 0);
      out.push({ id: s.id, body: concat([new Uint8Array(uleb(n + 1)), s.body.subarray(p), new Uint8Array(segment), payload]) });
      sawData = true;
      continue;
    }
    out.push(s);
    if (s.id === SEC_CODE && !secs.some((x) => x.id === SEC_DATA)) {
      out.push({ id: SEC_DATA, body: concat([new Uint8Array(uleb(1)), new Uint8Array(segment), payload]) });
      sawData = true;
    }
  }
  if (!sawData) throw new Error('embed: base runtime has no code section');
  const parts: Uint8Array[] = [base.subarray(0, 8)];
  for (const s of out) parts.push(new Uint8Array([s.id, ...uleb(s.body.length)]), s.body);
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Minimum pages of the imported env.memory, or undefined when the module does not import one. */
export function memoryMinPages(wasm: Uint8Array): number | undefined {
  const imp = sections(wasm).find((s) => s.id === SEC_IMPORT);
  if (!imp) return undefined;
  const body = imp.body;
  let [count, pos] = readUleb(body, 0);
  while (count--) {
    let n: number, mod: string, field: string;
    [n, pos] = readUleb(body, pos); mod = new TextDecoder().decode(body.subarray(pos, pos + n)); pos += n;
    [n, pos] = readUleb(body, pos); field = new TextDecoder().decode(body.subarray(pos, pos + n)); pos += n;
    const kind = body[pos++];
    if (kind === 2) { pos++; const [min] = readUleb(body, pos); if (mod === 'env' && field === 'memory') return min; continue; }
    if (kind === 0) [, pos] = readUleb(body, pos);
    else if (kind === 1) { pos++; const flag = body[pos++]; [, pos] = readUleb(body, pos); if (flag & 1) [, pos] = readUleb(body, pos); }
    else pos += 2;
  }
  return undefined;
}
