// Text from a report is hostile: paths, reasons and identities come from
// network traffic. Everything placed in the page goes through escapeHtml.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// C0 controls (bar tab and newline) and the bidi overrides/isolates are shown
// as visible \uXXXX: a U+202E in a path must not reverse what a reader sees.
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g;

/** Safe in element text and in double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/[&<>"']/g, (c) => ENTITIES[c])
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
