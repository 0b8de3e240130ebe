// The RFC 7644 §3.4.2.2 filter grammar, parsed into a small tree.
//
// Hand-written on purpose. The most used parser on npm (scim2-parse-filter 0.2.10) was evaluated:
// it handles precedence, `not` and quoting, but (1) rejects unquoted values, which Microsoft's own
// documentation shows Entra ID sending (`externalId eq jyoung`, `id eq 123 and manager eq 456`),
// and (2) reads Entra's `emails[type eq "work"].value eq "x"` as two independent conditions, so a
// user with a work address and a *different* address equal to "x" would match. Both matter for
// linking users correctly, hence this parser (~150 lines, bounded in length, depth and terms).
import { invalidFilter } from '../errors/index.ts';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type CompValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; expr: FilterNode }
  | { kind: 'compare'; path: string; op: CompareOp; value: CompValue }
  | { kind: 'present'; path: string }
  /** attr[filter]: an element of multi-valued `path` matches `filter` (sub-attribute paths inside are relative). */
  | { kind: 'valuePath'; path: string; filter: FilterNode };

export const FILTER_LIMITS = { maxLength: 4096, maxDepth: 12, maxTerms: 50 };

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token = { t: 'word'; v: string } | { t: 'string'; v: string } | { t: '(' | ')' | '[' | ']' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
    } else if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      tokens.push({ t: ch });
      i++;
    } else if (ch === '"') {
      // A JSON string (RFC 7644: compValue strings are JSON strings).
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw invalidFilter(`unterminated string starting at position ${i + 1}`);
      let value: string;
      try {
        value = JSON.parse(input.slice(i, j + 1)) as string;
      } catch {
        throw invalidFilter(`invalid escape in the string starting at position ${i + 1}`);
      }
      // "\ud800" is a valid JSON escape but not text: the database refuses it (issue 14, item 5).
      if (!value.isWellFormed()) throw invalidFilter(`the string starting at position ${i + 1} is not well-formed Unicode (a lone surrogate); send surrogates only in pairs`);
      tokens.push({ t: 'string', v: value });
      i = j + 1;
    } else {
      let j = i;
      while (j < input.length && !/[\s()[\]"]/.test(input[j]!)) j++;
      tokens.push({ t: 'word', v: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const ATTR_PATH = /^(?:urn:[A-Za-z0-9.:_-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/;

export function parseFilter(input: string): FilterNode {
  if (input.length > FILTER_LIMITS.maxLength) throw invalidFilter(`filters are limited to ${FILTER_LIMITS.maxLength} characters`);
  const tokens = tokenize(input);
  let pos = 0;
  let terms = 0;
  const peek = () => tokens[pos];
  const isWord = (tok: Token | undefined, word: string): boolean => tok?.t === 'word' && tok.v.toLowerCase() === word;
  const expect = (t: Token['t'], what: string) => {
    const tok = tokens[pos];
    if (tok?.t !== t) throw invalidFilter(`expected ${what} ${tok ? `before "${describe(tok)}"` : 'at the end of the filter'}`);
    pos++;
  };

  const parseOr = (depth: number): FilterNode => {
    if (depth > FILTER_LIMITS.maxDepth) throw invalidFilter(`filters may nest at most ${FILTER_LIMITS.maxDepth} levels deep`);
    let left = parseAnd(depth);
    while (isWord(peek(), 'or')) {
      pos++;
      left = { kind: 'or', left, right: parseAnd(depth) };
    }
    return left;
  };
  const parseAnd = (depth: number): FilterNode => {
    let left = parseUnary(depth);
    while (isWord(peek(), 'and')) {
      pos++;
      left = { kind: 'and', left, right: parseUnary(depth) };
    }
    return left;
  };
  const parseUnary = (depth: number): FilterNode => {
    const tok = peek();
    if (!tok) throw invalidFilter('the filter ends where an expression was expected');
    if (isWord(tok, 'not')) {
      pos++;
      return { kind: 'not', expr: parseUnary(depth + 1) };
    }
    if (tok.t === '(') {
      pos++;
      const inner = parseOr(depth + 1);
      expect(')', '")"');
      return inner;
    }
    if (tok.t !== 'word' || !ATTR_PATH.test(tok.v)) throw invalidFilter(`expected an attribute name, found "${describe(tok)}"`);
    if (++terms > FILTER_LIMITS.maxTerms) throw invalidFilter(`filters are limited to ${FILTER_LIMITS.maxTerms} comparisons`);
    pos++;
    const path = tok.v;
    if (peek()?.t === '[') {
      pos++;
      const inner = parseOr(depth + 1);
      expect(']', '"]"');
      // Entra's `emails[type eq "work"].value eq "x"`: the comparison applies to the same element.
      const next = peek();
      if (next?.t === 'word' && next.v.startsWith('.')) {
        pos++;
        const sub = next.v.slice(1);
        if (!ATTR_PATH.test(sub) || sub.includes('.')) throw invalidFilter(`invalid sub-attribute "${next.v}"`);
        return { kind: 'valuePath', path, filter: { kind: 'and', left: inner, right: parseComparison(sub) } };
      }
      return { kind: 'valuePath', path, filter: inner };
    }
    return parseComparison(path);
  };
  const parseComparison = (path: string): FilterNode => {
    const opTok = peek();
    if (opTok?.t !== 'word') throw invalidFilter(`expected an operator after "${path}"`);
    const op = opTok.v.toLowerCase();
    pos++;
    if (op === 'pr') return { kind: 'present', path };
    if (!COMPARE_OPS.has(op)) throw invalidFilter(`unknown operator "${opTok.v}" (supported: eq ne co sw ew gt ge lt le pr)`);
    const valueTok = peek();
    if (!valueTok || (valueTok.t !== 'string' && valueTok.t !== 'word')) throw invalidFilter(`expected a value after "${path} ${op}"`);
    pos++;
    return { kind: 'compare', path, op: op as CompareOp, value: valueTok.t === 'string' ? valueTok.v : bareValue(valueTok.v) };
  };

  const tree = parseOr(0);
  if (pos < tokens.length) throw invalidFilter(`unexpected "${describe(tokens[pos]!)}" after a complete expression`);
  return tree;
}

/** true/false/null/numbers per the ABNF; any other bare word is taken as a string (Entra sends them). */
function bareValue(word: string): CompValue {
  const lower = word.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(word)) return Number(word);
  return word;
}

function describe(tok: Token): string {
  return tok.t === 'word' ? tok.v : tok.t === 'string' ? JSON.stringify(tok.v) : tok.t;
}

/** Every attribute path a filter names (for logging and validation). */
export function filterPaths(node: FilterNode, prefix = ''): string[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return [...filterPaths(node.left, prefix), ...filterPaths(node.right, prefix)];
    case 'not':
      return filterPaths(node.expr, prefix);
    case 'compare':
    case 'present':
      return [prefix + node.path];
    case 'valuePath':
      return filterPaths(node.filter, `${node.path}.`);
  }
}
