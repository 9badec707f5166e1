// SCIM filters and PATCH paths (RFC 7644 §3.4.2.2 and §3.5.2): a tokenizer and a recursive-descent
// parser producing a small tree, and an in-memory evaluator over SCIM resources (used for the
// few groups and for PATCH value filters; users are filtered in SQL, queries/scim.ts).
// Precedence (§3.4.2.2 table 3): `not` and grouping bind tightest, then `and`, then `or`.
// Attribute names are case-insensitive (RFC 7643 §2.1): paths are kept lower-cased.
import { AppError } from './errors.ts';

export const COMPARE_OPERATORS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];
export type FilterValue = string | number | boolean | null;

/** An attribute path: an optional schema URN (lower-cased), the attribute and a sub-attribute. */
export interface AttrPath {
  schema?: string;
  attr: string;
  sub?: string;
}

export type Filter = { op: 'and' | 'or'; left: Filter; right: Filter } | { op: 'not'; filter: Filter } | { op: 'pr'; path: AttrPath } | { op: CompareOperator; path: AttrPath; value: FilterValue } | { op: 'valuePath'; path: AttrPath; filter: Filter };

/** A PATCH path: an attribute, an optional filter on its values, an optional sub-attribute after it. */
export interface PatchPath {
  path: AttrPath;
  filter?: Filter;
  /** `emails[type eq "work"].value`: the sub-attribute after the filter. */
  sub?: string;
}

type Token = { kind: 'word'; text: string } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'punct'; text: '(' | ')' | '[' | ']' };

export const CORE_SCHEMAS = ['urn:ietf:params:scim:schemas:core:2.0:user', 'urn:ietf:params:scim:schemas:core:2.0:group'];

function invalid(message: string, scimType = 'invalidFilter'): AppError {
  return new AppError('scim.invalid_filter', 400, message, { scimType });
}

function tokenize(text: string, scimType: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i += 1;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: 'punct', text: c });
      i += 1;
    } else if (c === '"') {
      // A JSON string (RFC 7644 §3.4.2.2: compValue is a JSON string, number or literal).
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw invalid('unterminated string in the filter', scimType);
      try {
        tokens.push({ kind: 'string', value: JSON.parse(text.slice(i, j + 1)) as string });
      } catch {
        throw invalid('malformed string in the filter', scimType);
      }
      i = j + 1;
    } else if (/[-0-9]/.test(c) && /^-?\d/.test(text.slice(i))) {
      const match = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i))!;
      tokens.push({ kind: 'number', value: Number(match[0]) });
      i += match[0].length;
    } else {
      const match = /^[A-Za-z0-9_$:.-]+/.exec(text.slice(i));
      if (!match) throw invalid(`unexpected character "${c}" in the filter`, scimType);
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

/** `urn:…:User:name.givenName` → schema, attr, sub; names lower-cased; the core schema dropped. */
export function parseAttrPath(text: string, scimType = 'invalidFilter'): AttrPath {
  let schema: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const cut = text.lastIndexOf(':');
    schema = text.slice(0, cut).toLowerCase();
    rest = text.slice(cut + 1);
    if (CORE_SCHEMAS.includes(schema)) schema = undefined;
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(p))) throw invalid(`"${text}" is not an attribute path`, scimType);
  return { ...(schema ? { schema } : {}), attr: parts[0]!.toLowerCase(), ...(parts[1] ? { sub: parts[1].toLowerCase() } : {}) };
}

class Parser {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly scimType: string,
  ) {}

  private peekWord(): string | undefined {
    const t = this.tokens[this.at];
    return t?.kind === 'word' ? t.text.toLowerCase() : undefined;
  }
  private peekPunct(text: string): boolean {
    const t = this.tokens[this.at];
    return t?.kind === 'punct' && t.text === text;
  }
  private expect(text: string): void {
    if (!this.peekPunct(text)) throw invalid(`expected "${text}" in the filter`, this.scimType);
    this.at += 1;
  }
  get done(): boolean {
    return this.at >= this.tokens.length;
  }

  or(): Filter {
    return this.chain('or', () => this.and());
  }

  private and(): Filter {
    return this.chain('and', () => this.unary());
  }

  /** Operands read by `operand`, joined left to right by the logical operator `op`. */
  private chain(op: 'and' | 'or', operand: () => Filter): Filter {
    let left = operand();
    while (this.peekWord() === op) {
      this.at += 1;
      left = { op, left, right: operand() };
    }
    return left;
  }

  private unary(): Filter {
    if (this.peekWord() === 'not' && this.tokens[this.at + 1]?.kind === 'punct') {
      this.at += 1;
      this.expect('(');
      const filter = this.or();
      this.expect(')');
      return { op: 'not', filter };
    }
    if (this.peekPunct('(')) {
      this.at += 1;
      const filter = this.or();
      this.expect(')');
      return filter;
    }
    return this.attributeExpression();
  }

  attrPathToken(): AttrPath {
    const t = this.tokens[this.at];
    if (t?.kind !== 'word') throw invalid('expected an attribute name in the filter', this.scimType);
    this.at += 1;
    return parseAttrPath(t.text, this.scimType);
  }

  private attributeExpression(): Filter {
    const path = this.attrPathToken();
    if (this.peekPunct('[')) {
      this.at += 1;
      const filter = this.or();
      this.expect(']');
      return { op: 'valuePath', path, filter };
    }
    const op = this.peekWord();
    if (op === 'pr') {
      this.at += 1;
      return { op: 'pr', path };
    }
    if (!op || !(COMPARE_OPERATORS as readonly string[]).includes(op)) throw invalid(`expected an operator (${COMPARE_OPERATORS.join(', ')}, pr) after "${path.attr}"`, this.scimType);
    this.at += 1;
    const t = this.tokens[this.at];
    let value: FilterValue;
    if (t?.kind === 'string' || t?.kind === 'number') value = t.value;
    else if (t?.kind === 'word' && ['true', 'false', 'null'].includes(t.text.toLowerCase())) value = JSON.parse(t.text.toLowerCase()) as boolean | null;
    else throw invalid(`expected a value after "${op}"`, this.scimType);
    this.at += 1;
    return { op: op as CompareOperator, path, value };
  }

  /** A PATCH path: attrPath, or valuePath with an optional `.sub` after `]`. */
  patchPath(): PatchPath {
    const path = this.attrPathToken();
    if (!this.peekPunct('[')) return { path };
    this.at += 1;
    const filter = this.or();
    this.expect(']');
    let sub: string | undefined;
    const t = this.tokens[this.at];
    if (t?.kind === 'word' && /^\.[A-Za-z$][A-Za-z0-9_$-]*$/.test(t.text)) {
      sub = t.text.slice(1).toLowerCase();
      this.at += 1;
    }
    return { path, filter, ...(sub ? { sub } : {}) };
  }
}

/** Longest filter accepted: keeps a hostile filter from costing much to parse or run. */
const MAX_FILTER = 2000;

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER) throw invalid(`the filter is longer than ${MAX_FILTER} characters`);
  const parser = new Parser(tokenize(text, 'invalidFilter'), 'invalidFilter');
  if (parser.done) throw invalid('the filter is empty');
  const filter = parser.or();
  if (!parser.done) throw invalid('unexpected text after the end of the filter');
  return filter;
}

export function parsePatchPath(text: string): PatchPath {
  if (text.length > MAX_FILTER) throw invalid('the path is too long', 'invalidPath');
  const parser = new Parser(tokenize(text, 'invalidPath'), 'invalidPath');
  const path = parser.patchPath();
  if (!parser.done) throw invalid(`"${text}" is not a valid path`, 'invalidPath');
  return path;
}

/** A key of an object, found case-insensitively (attribute names are case-insensitive). */
export function keyOf(object: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

function valuesAt(resource: Record<string, unknown>, path: AttrPath): unknown[] {
  let base: unknown = resource;
  if (path.schema) {
    const key = keyOf(resource, path.schema);
    base = key ? resource[key] : undefined;
  }
  if (!base || typeof base !== 'object') return [];
  const key = keyOf(base as Record<string, unknown>, path.attr);
  const value = key ? (base as Record<string, unknown>)[key] : undefined;
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  if (!path.sub) {
    // A multi-valued complex attribute compared directly compares its `value` sub-attributes.
    return list.map((v) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[keyOf(v as Record<string, unknown>, 'value') ?? 'value'] : v));
  }
  return list.flatMap((v) => {
    if (!v || typeof v !== 'object') return [];
    const sub = keyOf(v as Record<string, unknown>, path.sub!);
    return sub === undefined ? [] : [(v as Record<string, unknown>)[sub]];
  });
}

function compare(actual: unknown, op: CompareOperator, expected: FilterValue, caseExact: boolean): boolean {
  if (expected === null) return op === 'eq' ? actual === null || actual === undefined : op === 'ne' ? actual !== null && actual !== undefined : false;
  if (typeof expected === 'string' && typeof actual === 'string') {
    const a = caseExact ? actual : actual.toLowerCase();
    const e = caseExact ? expected : expected.toLowerCase();
    switch (op) {
      case 'eq':
        return a === e;
      case 'ne':
        return a !== e;
      case 'co':
        return a.includes(e);
      case 'sw':
        return a.startsWith(e);
      case 'ew':
        return a.endsWith(e);
      case 'gt':
        return a > e;
      case 'ge':
        return a >= e;
      case 'lt':
        return a < e;
      case 'le':
        return a <= e;
    }
  }
  if (typeof expected === 'boolean' || typeof expected === 'number') {
    if (op === 'eq') return actual === expected;
    if (op === 'ne') return actual !== expected;
    if (typeof expected === 'number' && typeof actual === 'number') {
      return op === 'gt' ? actual > expected : op === 'ge' ? actual >= expected : op === 'lt' ? actual < expected : op === 'le' ? actual <= expected : false;
    }
  }
  return op === 'ne';
}

/**
 * Whether a SCIM resource (or one value of a multi-valued attribute) matches the filter.
 * `caseExact` names the attributes compared case-sensitively (RFC 7643 §2.1: `id` and friends).
 */
export function matches(resource: Record<string, unknown>, filter: Filter, caseExact: (path: AttrPath) => boolean = (p) => p.attr === 'id'): boolean {
  switch (filter.op) {
    case 'and':
      return matches(resource, filter.left, caseExact) && matches(resource, filter.right, caseExact);
    case 'or':
      return matches(resource, filter.left, caseExact) || matches(resource, filter.right, caseExact);
    case 'not':
      return !matches(resource, filter.filter, caseExact);
    case 'pr':
      return valuesAt(resource, filter.path).some((v) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0));
    case 'valuePath': {
      const base = filter.path.schema ? (resource[keyOf(resource, filter.path.schema) ?? ''] as Record<string, unknown> | undefined) : resource;
      const key = base ? keyOf(base, filter.path.attr) : undefined;
      const list = key ? base![key] : undefined;
      return Array.isArray(list) && list.some((item) => item && typeof item === 'object' && matches(item as Record<string, unknown>, filter.filter, () => false));
    }
    default: {
      const values = valuesAt(resource, filter.path);
      if (filter.op === 'ne') return values.length === 0 ? filter.value !== null : values.every((v) => compare(v, 'ne', filter.value, caseExact(filter.path)));
      if (values.length === 0) return compare(undefined, filter.op, filter.value, caseExact(filter.path)) && filter.value === null;
      return values.some((v) => compare(v, filter.op as CompareOperator, filter.value, caseExact(filter.path)));
    }
  }
}
