/**
 * Rego tokenizer. Newlines are not tokens; instead each token records whether
 * a line break preceded it (`nl`), which the parser uses to end body
 * expressions and to stop `.`/`[`/`(` from continuing a term across lines.
 */
import { RegoCompileError, type Loc } from './ast.ts';

export type TokKind = 'ident' | 'string' | 'number' | 'punct' | 'eof';
export interface Token { kind: TokKind; text: string; value: string; loc: Loc; nl: boolean; space: boolean }

const PUNCTS = [':=', '==', '!=', '<=', '>=', '{', '}', '[', ']', '(', ')', ',', ';', '.', ':', '=', '<', '>', '+', '-', '*', '/', '%', '|', '&'];

export function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0, line = 1, col = 1, nl = true, space = true;
  const err = (msg: string, l: number, c: number): never => { throw new RegoCompileError('rego_parse_error', { file, line: l, col: c }, msg); };
  const adv = (n: number) => { for (let k = 0; k < n; k++) { if (src[i] === '\n') { line++; col = 1; } else col++; i++; } };
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { nl = true; space = true; adv(1); continue; }
    if (c === ' ' || c === '\t' || c === '\r') { space = true; adv(1); continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') adv(1); continue; }
    const loc = { file, line, col };
    const start = i;
    const push = (kind: TokKind, value: string) => { out.push({ kind, text: src.slice(start, i), value, loc, nl, space }); nl = false; space = false; };
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) adv(1);
      push('ident', src.slice(start, i));
    } else if (/[0-9]/.test(c)) {
      while (/[0-9]/.test(src[i] ?? '')) adv(1);
      if (src[i] === '.' && /[0-9]/.test(src[i + 1] ?? '')) { adv(1); while (/[0-9]/.test(src[i] ?? '')) adv(1); }
      if (src[i] === 'e' || src[i] === 'E') {
        const save = i;
        let j = i + 1;
        if (src[j] === '+' || src[j] === '-') j++;
        if (/[0-9]/.test(src[j] ?? '')) { adv(j - i); while (/[0-9]/.test(src[i] ?? '')) adv(1); } else i = save;
      }
      if (/[A-Za-z_]/.test(src[i] ?? '')) err(`unexpected ${src[i]} after number`, line, col);
      push('number', src.slice(start, i));
    } else if (c === '"') {
      adv(1);
      let s = '';
      for (;;) {
        const d = src[i];
        if (d === undefined || d === '\n') err('non-terminated string', loc.line, loc.col);
        if (d === '"') { adv(1); break; }
        if (d === '\\') {
          const e = src[i + 1];
          const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (e !== undefined && e in simple) { s += simple[e]; adv(2); continue; }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) { s += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16)); adv(6); continue; }
          err(`illegal escape sequence`, line, col);
        }
        s += d; adv(1);
      }
      push('string', s);
    } else if (c === '`') {
      adv(1);
      const from = i;
      while (i < src.length && src[i] !== '`') adv(1);
      if (i >= src.length) err('non-terminated raw string', loc.line, loc.col);
      const s = src.slice(from, i);
      adv(1);
      push('string', s);
    } else {
      const p = PUNCTS.find((q) => src.startsWith(q, i));
      if (!p) err(`illegal token '${c}'`, line, col);
      adv(p!.length);
      push('punct', p!);
    }
  }
  out.push({ kind: 'eof', text: '', value: '', loc: { file, line, col }, nl: true, space: true });
  return out;
}
