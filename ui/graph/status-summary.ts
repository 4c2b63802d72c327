// The header's one-line summary of the control plane's /status. The UI takes
// the status as `unknown` (the control plane owns its shape), so this reads
// the fields it knows (version, services, proxies with connected/acked
// versions/NACKs) and shows other top-level scalars as they are.

export interface StatusPart {
  label: string;
  value: string;
  /** 'bad' parts are drawn in the error colour. */
  tone: 'plain' | 'bad';
}

const MAX_PARTS = 8;

export function summarizeMeshStatus(control: unknown): StatusPart[] {
  if (control === null || typeof control !== 'object' || Array.isArray(control)) {
    return [{ label: 'control plane', value: 'not attached', tone: 'plain' }];
  }
  const parts: StatusPart[] = [];
  const s = control as Record<string, unknown>;
  const version = typeof s.version === 'number' ? s.version : null;
  if (version !== null) parts.push({ label: 'config', value: `v${version}`, tone: 'plain' });
  if (s.services && typeof s.services === 'object') {
    parts.push({ label: 'services', value: String(Object.keys(s.services).length), tone: 'plain' });
  }
  if (Array.isArray(s.proxies)) {
    const proxies = s.proxies.filter((p): p is Record<string, unknown> => p !== null && typeof p === 'object');
    const connected = proxies.filter((p) => p.connected === true).length;
    parts.push({ label: 'sidecars', value: `${connected}/${proxies.length} connected`, tone: connected < proxies.length ? 'bad' : 'plain' });
    const behind = version === null ? 0 : proxies.filter((p) => typeof p.acked_version === 'number' && p.acked_version < version).length;
    if (behind) parts.push({ label: 'behind', value: String(behind), tone: 'bad' });
    const nacked = proxies.filter((p) => p.nack !== undefined && p.nack !== null).length;
    if (nacked) parts.push({ label: 'NACK', value: String(nacked), tone: 'bad' });
  }
  // Taps lost on the way to ClickHouse (sequence gaps, drops sidecars reported): any is worth a look.
  if (typeof s.tap_lost_events === 'number') {
    parts.push({ label: 'tap loss', value: String(s.tap_lost_events), tone: s.tap_lost_events > 0 ? 'bad' : 'plain' });
  }
  // Tap batches the collector refused (bad signature, wrong sender, broken chain): each is in tap_rejects.
  if (typeof s.tap_rejected_frames === 'number') {
    parts.push({ label: 'taps refused', value: String(s.tap_rejected_frames), tone: s.tap_rejected_frames > 0 ? 'bad' : 'plain' });
  }
  for (const [k, v] of Object.entries(s)) {
    if (parts.length >= MAX_PARTS) break;
    if (['version', 'services', 'proxies', 'tap_lost_events', 'tap_rejected_frames'].includes(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      parts.push({ label: k.replace(/_/g, ' '), value: String(v), tone: 'plain' });
    }
  }
  return parts;
}
