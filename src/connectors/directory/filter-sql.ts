// A directory filter → a parameterized SQL condition on directory_user (alias `u`) or
// directory_group (`g`), so filters run in the database. Indexed columns serve the lookups
// identity providers make on every sync (userName eq, externalId eq, id eq, displayName eq);
// everything else is still filterable through the stored source representation (source_data
// JSONB). Values are always bound as parameters; names that become SQL text (sourceData keys,
// element names) are checked to be attribute names first.
import { foldName, nameKey } from '../../engine/name-key.ts';
import { DirectoryFilterError, type DirectoryFilter, type ElementField, type ElementFilter, type FilterField, type FilterList, type FilterType, type FilterValue } from './types.ts';
import { isUuid } from '../../storage/sql.ts';

export type DirectoryKind = 'user' | 'group';

export class SqlParams {
  constructor(readonly values: unknown[] = []) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

type ScalarType = FilterType | 'uuid';

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
  /** Group membership rows (members). */
  | { kind: 'members'; groupSql: string };

/** What may appear inside SQL text: attribute names and URNs, never a quote or a backslash. */
const NAME = /^[A-Za-z0-9$_:.-]+$/;

interface Context {
  kind: DirectoryKind;
  alias: string;
  params: SqlParams;
  aliases: number;
}

function fail(message: string): never {
  throw new DirectoryFilterError(message);
}

function sqlName(name: string): string {
  return NAME.test(name) ? name : fail(`${JSON.stringify(name)} is not an attribute name`);
}

/** A JSON scalar as SQL: booleans only when the JSON value is a boolean, never a cast that can fail. */
function jsonScalar(jsonExpr: string, type: FilterType): string {
  switch (type) {
    case 'boolean':
      return `(CASE WHEN jsonb_typeof(${jsonExpr}) = 'boolean' THEN (${jsonExpr})::boolean END)`;
    case 'number':
      return `(CASE WHEN jsonb_typeof(${jsonExpr}) = 'number' THEN (${jsonExpr})::numeric END)`;
    default:
      return `(${jsonExpr} #>> '{}')`;
  }
}

const jsonPath = (alias: string, path: readonly string[]) => `${alias}.source_data #> '{${path.map((p) => `"${sqlName(p)}"`).join(',')}}'`;

function jsonArray(expr: string): string {
  return `(CASE WHEN jsonb_typeof(${expr}) = 'array' THEN ${expr} ELSE '[]'::jsonb END)`;
}

/** Where a field lives in the tables. */
function fieldSource(ctx: Context, field: FilterField): Source {
  if ('sourceData' in field) {
    if (!field.sourceData.length) fail('a sourceData field needs a path');
    return { kind: 'scalar', sql: jsonScalar(jsonPath(ctx.alias, field.sourceData), field.type), type: field.type, caseExact: field.caseExact ?? false };
  }
  const a = ctx.alias;
  const str = (sql: string, caseExact: boolean, indexedEq?: (p: string) => string): Source => ({ kind: 'scalar', sql, type: 'string', caseExact, indexedEq });
  const keys = (sql: string): Source => ({ kind: 'scalar', sql, type: 'string', caseExact: true, keyed: true });
  switch (field.column) {
    case 'id':
      return { kind: 'scalar', sql: `${a}.id`, type: 'uuid', caseExact: true };
    case 'externalId':
      return str(`${a}.external_id`, true, ctx.kind === 'user' ? (p) => `${a}.external_id_key = ${p}` : undefined);
    case 'created':
      return { kind: 'scalar', sql: `${a}.created_at`, type: 'dateTime', caseExact: true };
    case 'lastModified':
      return { kind: 'scalar', sql: `${a}.updated_at`, type: 'dateTime', caseExact: true };
  }
  if (ctx.kind === 'user') {
    switch (field.column) {
      // userName and Group displayName: their keys, which make the names the engine holds for one the same
      // ones a filter finds (case, Unicode form, invisible characters and, for eq, surrounding spaces).
      case 'userName':
        return keys(`${a}.user_name_key`);
      case 'givenName':
        return str(`${a}.given_name`, false);
      case 'familyName':
        return str(`${a}.family_name`, false);
      case 'title':
        return str(`${a}.title`, false);
      case 'department':
        return str(`${a}.department`, false);
      case 'employeeNumber':
        return str(`${a}.employee_number`, false);
      case 'manager':
        return str(`(${a}.manager ->> 'value')`, true);
      case 'active':
        return { kind: 'scalar', sql: `${a}.source_active`, type: 'boolean', caseExact: true };
    }
  } else {
    switch (field.column) {
      case 'displayName':
        return keys(`${a}.display_name_key`);
      case 'members':
        return { kind: 'members', groupSql: `${a}.id` };
    }
  }
  return fail(`${ctx.kind}s have no field ${JSON.stringify(field.column)}`);
}

function listSql(ctx: Context, list: FilterList): string {
  if (list.list === 'emails') return ctx.kind === 'user' ? jsonArray(`${ctx.alias}.emails`) : fail('groups have no emails');
  if (!list.path.length) fail('a sourceData list needs a path');
  return jsonArray(jsonPath(ctx.alias, list.path));
}

function elementSource(alias: string, field: ElementField): Extract<Source, { kind: 'scalar' }> {
  return { kind: 'scalar', sql: jsonScalar(`${alias}.v -> '${sqlName(field.element)}'`, field.type), type: field.type, caseExact: field.caseExact ?? false };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

function asText(value: FilterValue): string {
  return typeof value === 'string' ? value : String(value);
}

function compareScalar(ctx: Context, source: Extract<Source, { kind: 'scalar' }>, op: string, value: FilterValue, path: string): string {
  const p = ctx.params;
  const x = source.sql;
  if (value === null) {
    if (op === 'eq') return `${x} IS NULL`;
    if (op === 'ne') return `${x} IS NOT NULL`;
    fail(`${path} ${op} null: only eq and ne compare with null`);
  }
  switch (source.type) {
    case 'boolean': {
      const b = typeof value === 'boolean' ? value : /^(true|false)$/i.test(String(value)) ? String(value).toLowerCase() === 'true' : undefined;
      if (b === undefined) fail(`${path} is a boolean: compare it with true or false`);
      if (op === 'eq') return `${x} = ${p.add(b)}::boolean`;
      if (op === 'ne') return `${x} IS DISTINCT FROM ${p.add(b)}::boolean`;
      return fail(`${path} is a boolean: only eq and ne apply`);
    }
    case 'dateTime': {
      const when = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
      if (Number.isNaN(when.getTime())) fail(`${path} is a dateTime: compare it with an RFC 3339 date such as "2024-05-13T04:42:34Z"`);
      const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op] ?? fail(`${path} is a dateTime: ${op} does not apply (use eq ne gt ge lt le)`);
      return op === 'ne' ? `${x} IS DISTINCT FROM ${p.add(when.toISOString())}::timestamptz` : `${x} ${sqlOp} ${p.add(when.toISOString())}::timestamptz`;
    }
    case 'number': {
      if (typeof value !== 'number') fail(`${path} is a number: compare it with a number`);
      const sqlOp = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' }[op] ?? fail(`${path} is a number: ${op} does not apply`);
      return op === 'ne' ? `${x} IS DISTINCT FROM ${p.add(value)}::numeric` : `${x} ${sqlOp} ${p.add(value)}::numeric`;
    }
    case 'uuid': {
      const text = asText(value);
      if (op === 'eq' || op === 'ne') {
        if (!isUuid(text)) return op === 'eq' ? 'false' : 'true';
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
          const sqlOp = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op] ?? fail(`unknown operator ${JSON.stringify(op)}`);
          return `${lhs} ${sqlOp} ${param(text)}`;
        }
      }
    }
    default:
      return fail(`unknown field type ${JSON.stringify(source.type)}`);
  }
}

function membersCompare(ctx: Context, source: Extract<Source, { kind: 'members' }>, op: string, value: FilterValue, path: string): string {
  if (op !== 'eq' && op !== 'ne') fail(`${path}: only eq and ne apply to members`);
  const text = value === null ? '' : asText(value);
  if (!isUuid(text)) return op === 'eq' ? 'false' : 'true';
  const m = `m${ctx.aliases++}`;
  const exists = `EXISTS (SELECT 1 FROM group_membership ${m} WHERE ${m}.group_id = ${source.groupSql} AND ${m}.user_id = ${ctx.params.add(text)}::uuid AND ${m}.removed_at IS NULL)`;
  return op === 'eq' ? exists : `NOT ${exists}`;
}

function present(ctx: Context, source: Source): string {
  if (source.kind === 'members') {
    const m = `m${ctx.aliases++}`;
    return `EXISTS (SELECT 1 FROM group_membership ${m} WHERE ${m}.group_id = ${source.groupSql} AND ${m}.removed_at IS NULL)`;
  }
  return source.type === 'string' ? `(${source.sql} IS NOT NULL AND ${source.sql} <> '')` : `${source.sql} IS NOT NULL`;
}

const labelOf = (node: { label?: string }, fallback: string) => node.label ?? fallback;

function compileElement(ctx: Context, node: ElementFilter, alias: string): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${compileElement(ctx, node.left, alias)} ${node.kind.toUpperCase()} ${compileElement(ctx, node.right, alias)})`;
    case 'not':
      return `(NOT COALESCE(${compileElement(ctx, node.filter, alias)}, false))`;
    case 'present':
      return `(${present(ctx, elementSource(alias, node.field))})`;
    case 'compare':
      return `(${compareScalar(ctx, elementSource(alias, node.field), node.op, node.value, labelOf(node, node.field.element))})`;
    default:
      return fail(`unknown filter node ${JSON.stringify((node as { kind?: unknown }).kind)}`);
  }
}

function compile(ctx: Context, node: DirectoryFilter): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${compile(ctx, node.left)} ${node.kind.toUpperCase()} ${compile(ctx, node.right)})`;
    case 'not':
      // An absent attribute makes a comparison NULL ("unknown"); `not` must see it as false. Only
      // here: elsewhere NULL already excludes the row, and bare comparisons keep the indexes usable.
      return `(NOT COALESCE(${compile(ctx, node.filter)}, false))`;
    case 'present':
      if ('list' in node.field) return `(jsonb_array_length(${listSql(ctx, node.field)}) > 0)`;
      return `(${present(ctx, fieldSource(ctx, node.field))})`;
    case 'compare': {
      const source = fieldSource(ctx, node.field);
      const label = labelOf(node, 'column' in node.field ? node.field.column : node.field.sourceData.join('.'));
      if (source.kind === 'members') return membersCompare(ctx, source, node.op, node.value, label);
      return `(${compareScalar(ctx, source, node.op, node.value, label)})`;
    }
    case 'some': {
      // A list matches when any element does (as SCIM's multi-valued attributes, RFC 7644 §3.4.2.2).
      const list = listSql(ctx, node.list);
      const e = `e${ctx.aliases++}`;
      return `EXISTS (SELECT 1 FROM jsonb_array_elements(${list}) AS ${e}(v) WHERE ${compileElement(ctx, node.where, e)})`;
    }
    default:
      return fail(`unknown filter node ${JSON.stringify((node as { kind?: unknown }).kind)}`);
  }
}

/** The SQL condition for a filter on users (alias `u`) or groups (alias `g`); values go to `params`. */
export function filterToSql(kind: DirectoryKind, filter: DirectoryFilter, params: SqlParams, alias = kind === 'user' ? 'u' : 'g'): string {
  return compile({ kind, alias, params, aliases: 0 }, filter);
}
