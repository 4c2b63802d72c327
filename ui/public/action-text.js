// Small pieces the Actions panel and the alerts' action lists share: an
// element with text (never markup), a clock time, and what an action changes
// in a few words, read from its params (after guardrails; {} when refused).

/** An element of `tag` with class `cls` and `text` as its text content. */
export function el(tag, cls = '', text = '') {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

export const clock = (ms) => new Date(ms).toLocaleTimeString();

/** "v1 50% / v2 50%", "for 30 s", "2 → 3 replicas", "10/s (burst 10)", "lift"; '' when params say nothing. */
export function actionWhat(a) {
  const p = a.params && typeof a.params === 'object' ? a.params : {};
  const num = (v) => typeof v === 'number' && Number.isFinite(v);
  switch (a.kind) {
    case 'shift':
      return Array.isArray(p.subsets) ? p.subsets.map((s) => `${String(s.version) || '(no version)'} ${Number(s.weight)}%`).join(' / ') : '';
    case 'eject': return num(p.seconds) ? `for ${p.seconds} s` : '';
    case 'scale': return num(p.replicas) ? `${num(p.before) && p.before >= 0 ? `${p.before} → ` : ''}${p.replicas} replicas` : '';
    case 'ratelimit':
      if (p.lift === true) return 'lift the limit';
      return num(p.rps) ? `${p.rps}/s${num(p.burst) ? ` (burst ${p.burst})` : ''}` : '';
    default: return '';
  }
}
