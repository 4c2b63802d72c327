/**
 * Rego v1 module parser: package, imports and rules (complete, partial set
 * via `contains`, partial object `p[k] := v`, functions, `default`, `else`
 * chains, ref heads). Bodies and terms are parsed by TermParser.
 */
import { type ElseClause, type Import, type Module, type Rule, type Term, type Loc, type Expr } from './ast.ts';
import { tokenize } from './lexer.ts';
import { TermParser } from './terms.ts';

export function parseModule(src: string, file: string): Module {
  return new ModuleParser(tokenize(src, file), file).parseModule();
}

class ModuleParser extends TermParser {
  constructor(toks: ReturnType<typeof tokenize>, private file: string) { super(toks); }

  parseModule(): Module {
    if (!this.isKw('package')) this.err(this.tok.loc, 'package expected');
    const loc = this.next().loc;
    const pkg = this.parseDotted();
    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (this.tok.kind !== 'eof') {
      if (!this.tok.nl) this.fail();
      if (this.isKw('import')) { const imp = this.parseImport(); if (imp) imports.push(imp); continue; }
      if (this.isKw('package')) this.err(this.tok.loc, 'unexpected package keyword: one package per file');
      rules.push(...this.parseRule());
    }
    return { file: this.file, pkg, imports, rules, loc };
  }

  private parseDotted(): string[] {
    const out: string[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind === 'ident') { this.next(); out.push(t.value); }
      else this.fail(t, 'identifier');
      if (this.isP('.')) { this.next(); continue; }
      if (this.isP('[') && this.peek().kind === 'string' && this.isP(']', this.peek(2))) { this.next(); out.push(this.next().value); this.next(); if (this.isP('.')) { this.next(); continue; } }
      return out;
    }
  }

  private parseImport(): Import | null {
    const loc = this.next().loc;
    const path = this.parseDotted();
    let alias = path[path.length - 1];
    if (this.isKw('as')) { this.next(); const a = this.next(); if (a.kind !== 'ident') this.fail(a, 'identifier'); alias = a.value; }
    if (path[0] === 'rego' || path[0] === 'future') {
      if (path.join('.') !== 'rego.v1' && path[0] !== 'future') this.err(loc, `invalid import ${path.join('.')}`);
      return null;
    }
    if (path[0] !== 'data' && path[0] !== 'input') this.err(loc, `invalid import path ${path.join('.')}: path must begin with input or data`);
    return { path, alias, loc };
  }

  private parseRule(): Rule[] {
    const loc = this.tok.loc;
    const isDefault = this.isKw('default');
    if (isDefault) this.next();
    // Rule reference: ident ( .ident | [term] )*
    const first = this.next();
    if (first.kind !== 'ident' || ['not', 'some', 'every', 'in', 'if', 'else', 'with', 'as', 'contains'].includes(first.value)) this.fail(first);
    const name = [first.value];
    let key: Term | null = null;
    for (;;) {
      if (this.isP('.') && this.peek().kind === 'ident') { this.next(); name.push(this.next().value); }
      else if (this.isP('[') && !this.tok.space) {
        if (key) this.err(this.tok.loc, 'rule reference may only have a variable key in its last position');
        this.next();
        const k = this.parseTerm(0);
        this.expectP(']');
        if (k.type === 'string') name.push(k.value); else key = k;
      } else break;
    }
    let args: Term[] | null = null;
    if (this.isP('(') && !key) {
      this.next();
      args = [];
      while (!this.isP(')')) { if (args.length) this.expectP(','); args.push(this.parseTerm(0)); }
      this.next();
    }
    let kind: Rule['kind'] = args ? 'function' : 'complete';
    let value: Term = { type: 'boolean', value: true, loc };
    let hasValue = false;
    if (this.isKw('contains')) {
      if (key || args || isDefault) this.fail();
      this.next();
      key = this.parseTerm(0);
      kind = 'partialset';
    } else if (this.isP(':=') || this.isP('=')) {
      this.next();
      value = this.parseTerm(0);
      hasValue = true;
    }
    if (key && kind !== 'partialset') {
      if (!hasValue) this.err(loc, '`contains` keyword is required for partial set rules');
      kind = 'partialobject';
    }
    if (isDefault) {
      if (!hasValue) this.err(loc, 'default rules must have a value');
      if (this.isKw('if') || this.isP('{')) this.err(this.tok.loc, 'default rules must not have a body');
      return [{ kind, name, key, value, args, body: [], isDefault, elses: [], loc }];
    }
    const body = this.parseRuleBody(loc);
    const elses: ElseClause[] = [];
    while (this.isKw('else')) {
      if (kind !== 'complete' && kind !== 'function') this.err(this.tok.loc, 'else keyword cannot be used on multi-value rules');
      const eloc = this.next().loc;
      let ev: Term = { type: 'boolean', value: true, loc: eloc };
      if (this.isP(':=') || this.isP('=')) { this.next(); ev = this.parseTerm(0); }
      elses.push({ value: ev, args, body: this.parseRuleBody(eloc), loc: eloc });
    }
    return [{ kind, name, key, value, args, body, isDefault: false, elses, loc }];
  }

  private parseRuleBody(loc: Loc): Expr[] {
    if (this.isP('{') ) this.err(this.tok.loc, '`if` keyword is required before rule body');
    if (!this.isKw('if')) return [];
    this.next();
    if (this.isP('{')) {
      // `if {` could start a body or an object/set term; OPA treats it as a body.
      return this.parseBody();
    }
    void loc;
    return [this.parseExpr()];
  }
}
