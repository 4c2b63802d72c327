/**
 * Term and expression parsing for Rego v1 (shared by rule bodies and
 * comprehensions). Operator precedence follows OPA's grammar, loosest first:
 * `in`, relations (`==` `!=` `<` `<=` `>` `>=`), `|`, `&`, `+ -`, `* / %`.
 */
import { RegoCompileError, type Expr, type Loc, type Term, type WithMod, type BinOp } from './ast.ts';
import type { Token } from './lexer.ts';

const KEYWORDS = new Set(['not', 'some', 'every', 'in', 'if', 'contains', 'else', 'default', 'with', 'as', 'import', 'package']);
const REL: BinOp[] = ['==', '!=', '<', '<=', '>', '>='];

export class TermParser {
  protected i = 0;
  constructor(protected toks: Token[]) {}

  protected get tok(): Token { return this.toks[this.i]; }
  protected peek(n = 1): Token { return this.toks[Math.min(this.i + n, this.toks.length - 1)]; }
  protected next(): Token { const t = this.tok; if (t.kind !== 'eof') this.i++; return t; }
  protected isP(p: string, t: Token = this.tok): boolean { return t.kind === 'punct' && t.value === p; }
  protected isKw(k: string, t: Token = this.tok): boolean { return t.kind === 'ident' && t.value === k; }
  protected fail(t: Token = this.tok, expected?: string): never {
    // OPA names tokens by kind (ident, string, number, eof) and punctuation by its text.
    const what = t.kind === 'ident' && KEYWORDS.has(t.value) ? `${t.value} keyword` : `${t.kind === 'punct' ? t.text : t.kind} token`;
    throw new RegoCompileError('rego_parse_error', t.loc, `unexpected ${what}${expected ? `: expected ${expected}` : ''}`);
  }
  protected expectP(p: string): Token { if (!this.isP(p)) this.fail(this.tok, p); return this.next(); }
  protected err(loc: Loc, msg: string): never { throw new RegoCompileError('rego_parse_error', loc, msg); }

  /** `{ expr (; | newline) expr … }` */
  parseBody(): Expr[] {
    this.expectP('{');
    const body: Expr[] = [];
    while (!this.isP('}')) {
      if (body.length > 0) {
        if (this.isP(';')) { this.next(); if (this.isP('}')) break; }
        else if (!this.tok.nl) this.fail();
      }
      body.push(this.parseExpr());
    }
    this.next();
    if (body.length === 0) this.err(this.toks[this.i - 1].loc, 'found empty body');
    return body;
  }

  parseExpr(): Expr {
    const loc = this.tok.loc;
    if (this.isKw('some')) return this.parseSome();
    if (this.isKw('every')) return this.parseEvery();
    let negated = false;
    if (this.isKw('not')) { this.next(); negated = true; }
    let lhs: Term | null = null;
    let op: 'term' | 'assign' | 'unify' = 'term';
    let term = this.parseMemberTerm();
    if (this.isP(':=') || this.isP('=')) {
      op = this.next().value === ':=' ? 'assign' : 'unify';
      lhs = term;
      term = this.parseMemberTerm();
    }
    return { kind: 'expr', op, lhs, term, negated, withs: this.parseWiths(), loc };
  }

  protected parseWiths(): WithMod[] {
    const withs: WithMod[] = [];
    while (this.isKw('with')) {
      const loc = this.next().loc;
      const target = this.parseTerm(0);
      if (!this.isKw('as')) this.fail(this.tok, 'as');
      this.next();
      withs.push({ target, value: this.parseTerm(0), loc });
    }
    return withs;
  }

  private parseSome(): Expr {
    const loc = this.next().loc;
    const terms = [this.parseTerm(1)];
    while (this.isP(',')) { this.next(); terms.push(this.parseTerm(1)); }
    if (this.isKw('in')) {
      this.next();
      if (terms.length > 2) this.fail(this.tok);
      const coll = this.parseTerm(1);
      const [key, value] = terms.length === 2 ? [terms[0], terms[1]] : [null, terms[0]];
      return { kind: 'somein', key, value, coll, withs: this.parseWiths(), loc };
    }
    for (const t of terms) if (t.type !== 'var') this.err(t.loc, 'expected var in some declaration');
    return { kind: 'some', vars: terms, loc };
  }

  private parseEvery(): Expr {
    const loc = this.next().loc;
    const first = this.parseTerm(1);
    let key: Term | null = null, value = first;
    if (this.isP(',')) { this.next(); key = first; value = this.parseTerm(1); }
    if (!this.isKw('in')) this.fail(this.tok, 'in');
    this.next();
    const coll = this.parseTerm(1);
    const body = this.parseBody();
    return { kind: 'every', key, value, coll, body, withs: this.parseWiths(), loc };
  }

  /** Term with `in` and the `k, v in xs` form allowed (only at expression level). */
  protected parseMemberTerm(): Term {
    const t = this.parseTerm(0);
    if (this.isP(',') && t.type !== 'member') {
      const save = this.i;
      this.next();
      const v = this.parseTerm(1);
      if (this.isKw('in')) { this.next(); return { type: 'member', key: t, value: v, coll: this.parseTerm(1), loc: t.loc }; }
      this.i = save;
    }
    return t;
  }

  /** level 0: with `in`; 1: relations and below (no `in`); 3: no `|` (comprehension heads). */
  parseTerm(level: number): Term {
    if (level === 0) {
      let t = this.parseTerm(1);
      while (this.isKw('in')) { this.next(); t = { type: 'member', key: null, value: t, coll: this.parseTerm(1), loc: t.loc }; }
      return t;
    }
    if (level === 1) {
      let t = this.parseTerm(2);
      while (REL.some((o) => this.isP(o))) { const op = this.next().value as BinOp; t = { type: 'binop', op, left: t, right: this.parseTerm(2), loc: t.loc }; }
      return t;
    }
    if (level === 2) {
      let t = this.parseTerm(3);
      while (this.isP('|')) { this.next(); t = { type: 'binop', op: '|', left: t, right: this.parseTerm(3), loc: t.loc }; }
      return t;
    }
    if (level === 3) return this.parseBin(['&'], () => this.parseBin(['+', '-'], () => this.parseBin(['*', '/', '%'], () => this.parsePrimary())));
    return this.parsePrimary();
  }

  private parseBin(ops: string[], sub: () => Term): Term {
    let t = sub();
    while (ops.some((o) => this.isP(o)) && !this.tok.nl) { const op = this.next().value as BinOp; t = { type: 'binop', op, left: t, right: sub(), loc: t.loc }; }
    return t;
  }

  private parsePrimary(): Term {
    const t = this.tok;
    const loc = t.loc;
    let term: Term;
    if (t.kind === 'number') { this.next(); term = { type: 'number', text: t.value, loc }; }
    else if (t.kind === 'string') { this.next(); term = { type: 'string', value: t.value, loc }; }
    else if (this.isP('-')) {
      this.next();
      if (this.tok.kind === 'number' && !this.tok.space) { term = { type: 'number', text: '-' + this.next().value, loc }; }
      else term = { type: 'binop', op: '-', left: { type: 'number', text: '0', loc }, right: this.parsePrimary(), loc };
    } else if (this.isP('(')) { this.next(); term = this.parseTerm(0); this.expectP(')'); }
    else if (this.isP('[')) term = this.parseArray();
    else if (this.isP('{')) term = this.parseBrace();
    else if (t.kind === 'ident') {
      // `contains` is a keyword only in rule heads; contains(s, x) is still the builtin.
      if (KEYWORDS.has(t.value) && !(t.value === 'contains' && this.isP('(', this.peek()))) this.fail();
      this.next();
      if (t.value === 'true' || t.value === 'false') term = { type: 'boolean', value: t.value === 'true', loc };
      else if (t.value === 'null') term = { type: 'null', loc };
      else if (t.value === 'set' && this.isP('(') && this.isP(')', this.peek())) { this.next(); this.next(); term = { type: 'set', items: [], loc }; }
      else term = this.parseRefOrCall({ type: 'var', name: t.value, loc });
    } else this.fail();
    return this.parsePostfix(term);
  }

  /** After a var: `.x`, `[t]`, and `(args)` when everything so far is a dotted name. */
  private parseRefOrCall(head: Term): Term {
    const names: string[] = [(head as { name: string }).name];
    let plain = true;
    const path: Term[] = [];
    for (;;) {
      if (this.isP('.') && !this.tok.nl && this.peek().kind === 'ident') {
        this.next();
        const id = this.next();
        path.push({ type: 'string', value: id.value, loc: id.loc });
        if (plain) names.push(id.value);
      } else if (this.isP('[') && !this.tok.space) {
        this.next();
        path.push(this.parseTerm(0));
        this.expectP(']');
        plain = false;
      } else if (this.isP('(') && !this.tok.space && plain) {
        this.next();
        const args: Term[] = [];
        while (!this.isP(')')) {
          if (args.length) this.expectP(',');
          args.push(this.parseTerm(0));
        }
        this.next();
        return { type: 'call', name: names.join('.'), args, loc: head.loc };
      } else break;
    }
    return path.length ? { type: 'ref', head, path, loc: head.loc } : head;
  }

  private parsePostfix(term: Term): Term {
    const path: Term[] = [];
    for (;;) {
      if (this.isP('.') && !this.tok.space && this.peek().kind === 'ident' && term.type !== 'number') {
        this.next(); const id = this.next(); path.push({ type: 'string', value: id.value, loc: id.loc });
      } else if (this.isP('[') && !this.tok.space && term.type !== 'var' && term.type !== 'ref') {
        this.next(); path.push(this.parseTerm(0)); this.expectP(']');
      } else break;
    }
    if (!path.length) return term;
    return term.type === 'ref' ? { ...term, path: [...term.path, ...path] } : { type: 'ref', head: term, path, loc: term.loc };
  }

  private parseArray(): Term {
    const loc = this.next().loc;
    if (this.isP(']')) { this.next(); return { type: 'array', items: [], loc }; }
    const first = this.parseTerm(3);
    if (this.isP('|')) { this.next(); return { type: 'arraycompr', head: first, body: this.parseComprBody(']'), loc }; }
    const items = [this.continueTerm(first)];
    while (this.isP(',')) { this.next(); if (this.isP(']')) break; items.push(this.parseTerm(0)); }
    this.expectP(']');
    return { type: 'array', items, loc };
  }

  /** Finish a term whose first operand was parsed at level 3 (no `|`). */
  private continueTerm(t: Term): Term {
    while (this.isP('|')) { this.next(); t = { type: 'binop', op: '|', left: t, right: this.parseTerm(3), loc: t.loc }; }
    while (REL.some((o) => this.isP(o))) { const op = this.next().value as BinOp; t = { type: 'binop', op, left: t, right: this.parseTerm(2), loc: t.loc }; }
    while (this.isKw('in')) { this.next(); t = { type: 'member', key: null, value: t, coll: this.parseTerm(1), loc: t.loc }; }
    return t;
  }

  private parseBrace(): Term {
    const loc = this.next().loc;
    if (this.isP('}')) { this.next(); return { type: 'object', pairs: [], loc }; }
    const first = this.parseTerm(3);
    if (this.isP(':')) {
      this.next();
      const v = this.parseTerm(3);
      if (this.isP('|')) { this.next(); return { type: 'objectcompr', key: first, value: v, body: this.parseComprBody('}'), loc }; }
      const pairs: [Term, Term][] = [[first, this.continueTerm(v)]];
      while (this.isP(',')) {
        this.next();
        if (this.isP('}')) break;
        const k = this.parseTerm(0); this.expectP(':'); pairs.push([k, this.parseTerm(0)]);
      }
      this.expectP('}');
      return { type: 'object', pairs, loc };
    }
    if (this.isP('|')) { this.next(); return { type: 'setcompr', head: first, body: this.parseComprBody('}'), loc }; }
    const items = [this.continueTerm(first)];
    while (this.isP(',')) { this.next(); if (this.isP('}')) break; items.push(this.parseTerm(0)); }
    this.expectP('}');
    return { type: 'set', items, loc };
  }

  private parseComprBody(close: string): Expr[] {
    const body: Expr[] = [];
    while (!this.isP(close)) {
      if (body.length > 0) {
        if (this.isP(';')) this.next();
        else if (!this.tok.nl) this.fail();
      }
      body.push(this.parseExpr());
    }
    this.next();
    return body;
  }
}
