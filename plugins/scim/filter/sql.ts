// Filter tree → a parameterized SQL condition on the snake_case tables, so filters run in the
// database. Indexed columns serve the lookups identity providers make on every sync
// (userName eq, externalId eq, id eq, displayName eq); everything else in the schemas is still
// filterable through the stored SCIM resource (source_data JSONB). Values are always bound as
// parameters; attribute names only ever come from the schema definitions.
import { foldName, nameKey } from '../../../src/engine/name-key.ts';
import { invalidFilter } from '../errors/index.ts';
import { resolveAttribute, type ResourceKind, type ResolvedAttribute } from '../schemas/attributes.ts';
import type { AttributeDef } from '../schemas/definitions.ts';
import { ENTERPRISE_USER } from '../schemas/urns.ts';
import type { CompValue, FilterNode } from './parse.ts';

export class SqlParams {
  constructor(readonly values: unknown[] = []) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

type ScalarType = 'string' | 'boolean' | 'dateTime' | 'uuid' | 'number';

type Source =
  | {
      kind: 'scalar';
      sql: string;
      type: ScalarType;
      caseExact: boolean;
      indexedEq?: (param: string) => string;
      /** A column of keys (src/engine/name-key.ts): the value is turned into one and compared as is. */
      keyed?: true;
    }
  /** A JSONB array of objects; `element` resolves a sub-attribute of one element (alias given). */
  | { kind: 'array'; sql: string; element: (alias: string, sub: string) => Source; defaultSub: string }
  /** Group membership rows (members.value). */
  | { kind: 'members'; groupSql: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Context {
  kind: ResourceKind;
  alias: string;
  params: SqlParams;
  aliases: number;
}

function scalarTypeOf(def: AttributeDef): ScalarType {
  switch (def.type) {
    case 'boolean':
      return 'boolean';
    case 'dateTime':
      return 'dateTime';
    case 'integer':
    case 'decimal':
      return 'number';
    default:
      return 'string';
  }
}

/** A JSON scalar as SQL: booleans only when the JSON value is a boolean, never a cast that can fail. */
function jsonScalar(jsonExpr: string, type: ScalarType): string {
  switch (type) {
    case 'boolean':
      return `(CASE WHEN jsonb_typeof(${jsonExpr}) = 'boolean' THEN (${jsonExpr})::boolean END)`;
    case 'number':
      return `(CASE WHEN jsonb_typeof(${jsonExpr}) = 'number' THEN (${jsonExpr})::numeric END)`;
    default:
      return `(${jsonExpr} #>> '{}')`;
  }
}

function elementResolver(kind: ResourceKind, attribute: AttributeDef) {
  return (alias: string, sub: string): Source => {
    const def = (attribute.subAttributes ?? []).find((s) => s.name.toLowerCase() === sub.toLowerCase());
    if (!def) throw invalidFilter(`"${sub}" is not a sub-attribute of ${kind === 'User' ? 'User' : 'Group'} ${attribute.name}`);
    const type = scalarTypeOf(def);
    return { kind: 'scalar', sql: jsonScalar(`${alias}.v -> '${def.name}'`, type), type, caseExact: def.caseExact ?? false };
  };
}

function jsonArray(expr: string): string {
  return `(CASE WHEN jsonb_typeof(${expr}) = 'array' THEN ${expr} ELSE '[]'::jsonb END)`;
}

/** Where a resolved attribute lives in the tables. */
function sourceOf(ctx: Context, resolved: ResolvedAttribute, path: string): Source {
  const a = ctx.alias;
  const { canonical, attribute, subAttribute } = resolved;
  const str = (sql: string, caseExact: boolean, indexedEq?: (p: string) => string): Source => ({ kind: 'scalar', sql, type: 'string', caseExact, indexedEq });
  // userName and Group displayName: their keys, which make the names the engine holds for one the same
  // ones a filter finds (case, Unicode form, invisible characters and, for eq, surrounding spaces).
  const keys = (sql: string): Source => ({ kind: 'scalar', sql, type: 'string', caseExact: true, keyed: true });
  if (canonical === 'id') return { kind: 'scalar', sql: `${a}.id`, type: 'uuid', caseExact: true };
  if (canonical === 'externalId') return str(`${a}.external_id`, true, ctx.kind === 'User' ? (p) => `${a}.external_id_key = ${p}` : undefined);
  if (canonical === 'meta.created') return { kind: 'scalar', sql: `${a}.created_at`, type: 'dateTime', caseExact: true };
  if (canonical === 'meta.lastModified') return { kind: 'scalar', sql: `${a}.updated_at`, type: 'dateTime', caseExact: true };
  if (canonical.startsWith('meta')) throw invalidFilter(`filtering on ${path} is not supported (meta.created and meta.lastModified are)`);
  if (ctx.kind === 'User') {
    switch (canonical) {
      case 'userName':
        return keys(`${a}.user_name_key`);
      case 'name.givenName':
        return str(`${a}.given_name`, false);
      case 'name.familyName':
        return str(`${a}.family_name`, false);
      case 'title':
        return str(`${a}.title`, false);
      case `${ENTERPRISE_USER}:department`:
        return str(`${a}.department`, false);
      case `${ENTERPRISE_USER}:employeeNumber`:
        return str(`${a}.employee_number`, false);
      case `${ENTERPRISE_USER}:manager`:
      case `${ENTERPRISE_USER}:manager.value`:
        return str(`(${a}.manager ->> 'value')`, true);
      case 'active':
        return { kind: 'scalar', sql: `${a}.source_active`, type: 'boolean', caseExact: true };
      case 'emails':
        return { kind: 'array', sql: jsonArray(`${a}.emails`), element: elementResolver('User', attribute), defaultSub: 'value' };
      case 'password':
        throw invalidFilter('password is never stored, so it cannot be filtered on');
      case 'groups':
      case 'groups.value':
      case 'groups.display':
      case 'groups.type':
      case 'groups.$ref':
        throw invalidFilter('filter groups by their members instead: GET /Groups?filter=members eq "<user id>"');
    }
    if (canonical.startsWith('emails.')) {
      return { kind: 'array', sql: jsonArray(`${a}.emails`), element: elementResolver('User', attribute), defaultSub: subAttribute!.name };
    }
  } else {
    switch (canonical) {
      case 'displayName':
        return keys(`${a}.display_name_key`);
      case 'members':
      case 'members.value':
        return { kind: 'members', groupSql: `${a}.id` };
    }
    if (canonical.startsWith('members.')) throw invalidFilter(`filtering on ${path} is not supported (members.value is)`);
  }
  // Everything else: the stored SCIM resource.
  const jsonPath = `${a}.source_data #> '{${resolved.jsonPath.slice(0, attribute.multiValued ? (resolved.schema === ENTERPRISE_USER ? 2 : 1) : undefined).map((p) => `"${p}"`).join(',')}}'`;
  if (attribute.multiValued) {
    return { kind: 'array', sql: jsonArray(jsonPath), element: elementResolver(ctx.kind, attribute), defaultSub: subAttribute?.name ?? 'value' };
  }
  if (attribute.type === 'complex' && !subAttribute) throw invalidFilter(`${path} is a complex attribute: filter on one of its sub-attributes (e.g. ${path}.${attribute.subAttributes?.[0]?.name ?? 'value'})`);
  const def = subAttribute ?? attribute;
  const type = scalarTypeOf(def);
  return { kind: 'scalar', sql: jsonScalar(jsonPath, type), type, caseExact: def.caseExact ?? false };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

function asText(value: CompValue): string {
  return typeof value === 'string' ? value : String(value);
}

function compareScalar(ctx: Context, source: Extract<Source, { kind: 'scalar' }>, op: string, value: CompValue, path: string): string {
  const p = ctx.params;
  const x = source.sql;
  if (value === null) {
    if (op === 'eq') return `${x} IS NULL`;
    if (op === 'ne') return `${x} IS NOT NULL`;
    throw invalidFilter(`${path} ${op} null: only eq and ne compare with null`);
  }
  switch (source.type) {
    case 'boolean': {
      const b = typeof value === 'boolean' ? value : /^(true|false)$/i.test(String(value)) ? String(value).toLowerCase() === 'true' : undefined;
      if (b === undefined) throw invalidFilter(`${path} is a boolean: compare it with true or false`);
      if (op === 'eq') return `${x} = ${p.add(b)}::boolean`;
      if (op === 'ne') return `${x} IS DISTINCT FROM ${p.add(b)}::boolean`;
      throw invalidFilter(`${path} is a boolean: only eq and ne apply`);
    }
    case 'dateTime': {
      const when = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
      if (Number.isNaN(when.getTime())) throw invalidFilter(`${path} is a dateTime: compare it with an RFC 3339 date such as "2024-05-13T04:42:34Z"`);
      const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
      if (!sqlOp) throw invalidFilter(`${path} is a dateTime: ${op} does not apply (use eq ne gt ge lt le)`);
      return op === 'ne' ? `${x} IS DISTINCT FROM ${p.add(when.toISOString())}::timestamptz` : `${x} ${sqlOp} ${p.add(when.toISOString())}::timestamptz`;
    }
    case 'number': {
      if (typeof value !== 'number') throw invalidFilter(`${path} is a number: compare it with a number`);
      const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
      if (!sqlOp) throw invalidFilter(`${path} is a number: ${op} does not apply`);
      return op === 'ne' ? `${x} IS DISTINCT FROM ${p.add(value)}::numeric` : `${x} ${sqlOp} ${p.add(value)}::numeric`;
    }
    case 'uuid': {
      const text = asText(value);
      if (op === 'eq' || op === 'ne') {
        if (!UUID.test(text)) return op === 'eq' ? 'false' : 'true';
        return op === 'eq' ? `${x} = ${p.add(text)}::uuid` : `${x} <> ${p.add(text)}::uuid`;
      }
      return compareScalar(ctx, { kind: 'scalar', sql: `${x}::text`, type: 'string', caseExact: false }, op, text, path);
    }
    case 'string': {
      // A name's key for eq, ne and the orderings; for co, sw and ew its folded, untrimmed form.
      const text = !source.keyed ? asText(value) : ['co', 'sw', 'ew'].includes(op) ? foldName(asText(value)) : (nameKey(asText(value)) ?? '');
      if (op === 'eq' && source.indexedEq) return source.indexedEq(p.add(text));
      const ci = !source.caseExact;
      const lhs = ci ? `lower(${x})` : x;
      const param = (v: string) => (ci ? `lower(${p.add(v)})` : p.add(v));
      switch (op) {
        case 'eq':
          return `${lhs} = ${param(text)}`;
        case 'ne':
          return `(${x} IS NULL OR ${lhs} <> ${param(text)})`;
        case 'co':
          return `${lhs} LIKE ${param(`%${escapeLike(text)}%`)}`;
        case 'sw':
          return `${lhs} LIKE ${param(`${escapeLike(text)}%`)}`;
        case 'ew':
          return `${lhs} LIKE ${param(`%${escapeLike(text)}`)}`;
        default: {
          const sqlOp = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op]!;
          return `${lhs} ${sqlOp} ${param(text)}`;
        }
      }
    }
  }
}

function present(source: Source, ctx: Context): string {
  switch (source.kind) {
    case 'scalar':
      return source.type === 'string' ? `(${source.sql} IS NOT NULL AND ${source.sql} <> '')` : `${source.sql} IS NOT NULL`;
    case 'array':
      return `jsonb_array_length(${source.sql}) > 0`;
    case 'members':
      return `EXISTS (SELECT 1 FROM group_membership m${ctx.aliases++} WHERE m${ctx.aliases - 1}.group_id = ${source.groupSql} AND m${ctx.aliases - 1}.removed_at IS NULL)`;
  }
}

function membersCompare(ctx: Context, source: Extract<Source, { kind: 'members' }>, op: string, value: CompValue, path: string): string {
  if (op !== 'eq' && op !== 'ne') throw invalidFilter(`${path}: only eq and ne apply to members`);
  const text = value === null ? '' : asText(value);
  if (!UUID.test(text)) return op === 'eq' ? 'false' : 'true';
  const m = `m${ctx.aliases++}`;
  const exists = `EXISTS (SELECT 1 FROM group_membership ${m} WHERE ${m}.group_id = ${source.groupSql} AND ${m}.user_id = ${ctx.params.add(text)}::uuid AND ${m}.removed_at IS NULL)`;
  return op === 'eq' ? exists : `NOT ${exists}`;
}

function resolve(ctx: Context, path: string): Source {
  const resolved = resolveAttribute(ctx.kind, path);
  if (!resolved) throw invalidFilter(`"${path}" is not an attribute of ${ctx.kind}`);
  return sourceOf(ctx, resolved, path);
}

function compile(ctx: Context, node: FilterNode, resolveIn: (path: string) => Source): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${compile(ctx, node.left, resolveIn)} ${node.kind.toUpperCase()} ${compile(ctx, node.right, resolveIn)})`;
    case 'not':
      // An absent attribute makes a comparison NULL ("unknown"); `not` must see it as false. Only
      // here: elsewhere NULL already excludes the row, and bare comparisons keep the indexes usable.
      return `(NOT COALESCE(${compile(ctx, node.expr, resolveIn)}, false))`;
    case 'present':
      return `(${present(resolveIn(node.path), ctx)})`;
    case 'compare': {
      const source = resolveIn(node.path);
      if (source.kind === 'scalar') return `(${compareScalar(ctx, source, node.op, node.value, node.path)})`;
      if (source.kind === 'members') return membersCompare(ctx, source, node.op, node.value, node.path);
      // A multi-valued attribute matches when any element does (RFC 7644 §3.4.2.2).
      const e = `e${ctx.aliases++}`;
      const element = source.element(e, source.defaultSub);
      if (element.kind !== 'scalar') throw invalidFilter(`${node.path} cannot be compared`);
      return `EXISTS (SELECT 1 FROM jsonb_array_elements(${source.sql}) AS ${e}(v) WHERE ${compareScalar(ctx, element, node.op, node.value, node.path)})`;
    }
    case 'valuePath': {
      const source = resolveIn(node.path);
      if (source.kind === 'members') {
        // members[value eq "…"]: the same as members eq "…".
        return compile(ctx, node.filter, (sub) => {
          if (sub.toLowerCase() !== 'value') throw invalidFilter(`members[${sub} …]: only members[value …] is supported`);
          return source;
        });
      }
      if (source.kind !== 'array') throw invalidFilter(`${node.path} is not multi-valued, so it takes no [filter]`);
      const e = `e${ctx.aliases++}`;
      const inner = compile(ctx, node.filter, (sub) => {
        if (sub.includes('.') || sub.includes(':')) throw invalidFilter(`inside ${node.path}[…] name sub-attributes only (found "${sub}")`);
        return source.element(e, sub);
      });
      return `EXISTS (SELECT 1 FROM jsonb_array_elements(${source.sql}) AS ${e}(v) WHERE ${inner})`;
    }
  }
}

/** The SQL condition for a filter on users (alias `u`) or groups (alias `g`). */
export function filterToSql(kind: ResourceKind, node: FilterNode, params: SqlParams, alias = kind === 'User' ? 'u' : 'g'): string {
  const ctx: Context = { kind, alias, params, aliases: 0 };
  return compile(ctx, node, (path) => resolve(ctx, path));
}
