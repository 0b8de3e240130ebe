// Generators of hostile input for test/abuse/hostile-inputs.property.test.ts: JSON written as raw
// text (so it can hold what JSON.stringify cannot write: duplicate keys, own "__proto__" keys,
// numbers past a double, lone surrogates as \ud800 escapes), SCIM bodies, PATCH operations,
// filters, GraphQL documents built from the real schema, and vendor webhook payloads. Object ids
// are placeholders (`<<victim.userId>>`): the test fills them in when it sends.
import fc from 'fast-check';
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { ENTERPRISE, GROUP_SCHEMA, PATCH_OP, USER_SCHEMA } from '../scim/support.ts';

// ---- JSON as text ------------------------------------------------------------------------------

/** A JSON value as written: objects are entry lists, so keys may repeat or be "__proto__". */
export type Json = { raw: string } | { str: string } | { arr: Json[] } | { obj: Array<[string, Json]> } | { deep: number; inner: Json };

export function jsonText(j: Json): string {
  if ('raw' in j) return j.raw;
  // JSON.stringify writes a lone surrogate as a \udxxx escape (well-formed JSON.stringify).
  if ('str' in j) return JSON.stringify(j.str);
  if ('arr' in j) return `[${j.arr.map(jsonText).join(',')}]`;
  if ('obj' in j) return `{${j.obj.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  return '[{"a":'.repeat(j.deep) + jsonText(j.inner) + '}]'.repeat(j.deep);
}

/** The parsed form of an ordinary value, as a Json tree to append hostile entries to. */
export function fromValue(value: unknown): Json {
  if (typeof value === 'string') return { str: value };
  if (Array.isArray(value)) return { arr: value.map(fromValue) };
  if (value && typeof value === 'object') return { obj: Object.entries(value).map(([k, v]) => [k, fromValue(v)]) };
  return { raw: JSON.stringify(value ?? null) };
}

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', '__proto__.polluted', 'constructor.prototype.polluted', 'prototype.polluted'];

/** Strings parsers, databases and path walkers get wrong. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ...POLLUTING_KEYS,
    'hasOwnProperty', 'toString', 'valueOf', 'polluted',
    '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '\u0000', 'x\u0000y', '\u202eevil', '\ufeff', 'a\u200bb', 'e\u0301', '😀',
    '', ' ', '  padded  ', 'null', 'true', '0', '-1', 'NaN', '1e400',
    "' OR 1=1 --", '%', '_', '\\', '"', "'", '\\"', '%00', '${{7*7}}', '<script>alert(1)</script>', '../../etc/passwd', '\r\nX-Injected: 1',
    'urn:ietf:params:scim:schemas:core:2.0:User', 'urn:evil:schema', 'urn:', `${ENTERPRISE}:__proto__`,
    '<<victim.userId>>', '<<victim.groupId>>', '<<victim.organizationId>>', '<<victim.connectionId>>',
  ),
  fc.string({ maxLength: 12 }),
  // Any UTF-16 code unit, lone surrogates and controls included.
  fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 8 }),
  fc.constantFrom(10_000, 100_000).map((n) => 'A'.repeat(n)),
);

const hostileNumber: fc.Arbitrary<Json> = fc.constantFrom(
  '1e400', '-1e400', '1e-400', '-0', '0', '1.5', '123456789012345678901234567890', '9007199254740993', '2147483648', '-2147483649', '1E+2',
).map((raw) => ({ raw }));

const SCIM_KEYS = [
  'schemas', 'id', 'externalId', 'userName', 'displayName', 'name', 'givenName', 'familyName', 'emails', 'value', 'type', 'primary',
  'active', 'title', 'members', 'display', '$ref', 'meta', 'groups', 'phoneNumbers', 'addresses', 'roles', 'manager', ENTERPRISE,
  `${ENTERPRISE}:manager`, 'name.givenName', 'emails[type eq "work"].value', 'Operations', 'op', 'path',
];
export const hostileKey: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...POLLUTING_KEYS) }, { weight: 3, arbitrary: fc.constantFrom(...SCIM_KEYS) }, { weight: 2, arbitrary: hostileString });

/** Any JSON, hostile in every leaf and key, some of it nested past the hub's depth limit. */
export const hostileJson: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: hostileString.map((str): Json => ({ str })) },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '{}', '[]').map((raw): Json => ({ raw })) },
    { weight: 2, arbitrary: fc.array(tie('node'), { maxLength: 3 }).map((arr): Json => ({ arr })) },
    { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, tie('node')), { maxLength: 4 }).map((obj): Json => ({ obj })) },
    { weight: 1, arbitrary: fc.record({ deep: fc.constantFrom(15, 31, 32, 33, 200), inner: tie('node') }) },
  ),
})).node;

/** Ordinary entries, each kept, dropped or given a hostile value, and 0-3 hostile entries added (some repeating an ordinary key). */
const withHostileEntries = (entries: Array<[string, Json]>) =>
  fc
    .tuple(
      fc.tuple(...entries.map(([key, value]) => fc.oneof({ weight: 4, arbitrary: fc.constant<[string, Json] | null>([key, value]) }, fc.constant(null), hostileJson.map((h): [string, Json] => [key, h])))),
      fc.array(fc.tuple(hostileKey, hostileJson), { maxLength: 3 }),
      fc.boolean(),
    )
    .map(([kept, added, first]): Json => {
      const ordinary = kept.filter((e): e is [string, Json] => e !== null);
      return { obj: first ? [...added, ...ordinary] : [...ordinary, ...added] };
    });

// ---- SCIM --------------------------------------------------------------------------------------

const SCHEMAS_VALUES: Json[] = [
  fromValue([USER_SCHEMA]), fromValue([GROUP_SCHEMA]), fromValue([USER_SCHEMA, ENTERPRISE]), fromValue(['urn:evil:schema']), fromValue([]),
  fromValue(USER_SCHEMA), fromValue([USER_SCHEMA.toUpperCase()]), fromValue([null]), { raw: '{"__proto__":{"polluted":1}}' },
];

/** A SCIM User or Group body: plausible entries mixed with hostile ones. */
export const scimBody = (kind: 'User' | 'Group') =>
  fc.tuple(fc.nat(999_999), fc.constantFrom(...SCHEMAS_VALUES)).chain(([n, schemas]) =>
    withHostileEntries(
      kind === 'User'
        ? [
            ['schemas', schemas],
            ['userName', { str: `fuzz${n}@mallory.test` }],
            ['name', fromValue({ givenName: 'Fuzz', familyName: `F${n}` })],
            ['emails', fromValue([{ value: `fuzz${n}@mallory.test`, type: 'work', primary: true }])],
            [ENTERPRISE, fromValue({ department: 'R&D', manager: { value: '<<victim.userId>>' } })],
            ['active', { raw: 'true' }],
          ]
        : [
            ['schemas', schemas],
            ['displayName', { str: `Fuzz team ${n}` }],
            ['members', fromValue([{ value: '<<attacker.userId>>' }, { value: '<<victim.userId>>' }])],
          ],
    ),
  );

const PATCH_PATHS = [
  '__proto__', '__proto__.polluted', 'constructor.prototype.polluted', 'constructor', 'prototype.polluted', 'name.__proto__.polluted',
  'emails[type eq "x"].value', 'emails[type eq "work"].__proto__', 'emails[value co "@"].primary', 'emails[not (type eq "x")].value',
  'phoneNumbers[type eq "__proto__"].value', 'addresses[type eq "work"].streetAddress', 'members', 'members[value eq "<<victim.userId>>"]',
  'members[value eq "<<attacker.userId>>"]', 'members[value eq "x" or value pr].display', 'members[__proto__ eq "x"]',
  `${ENTERPRISE}:manager`, `${ENTERPRISE}:__proto__`, `${ENTERPRISE}:manager.value`, `${USER_SCHEMA}:name.givenName`,
  'userName', 'active', 'displayName', 'name.givenName', 'name.familyName', 'title', 'emails', `${ENTERPRISE}:department`, 'externalId', 'x[[[', '[', ']', '.', 'a.b.c.d', 'emails[', 'emails[type eq "x"', 'emails[type eq "x"]]',
];

const patchValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: hostileJson },
  { weight: 2, arbitrary: hostileString.map((str): Json => ({ str })) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null').map((raw): Json => ({ raw })) },
  { weight: 1, arbitrary: fc.constantFrom(...POLLUTING_KEYS).chain((k) => hostileJson.map((v): Json => ({ obj: [[k, v]] }))) },
  { weight: 1, arbitrary: fc.constant(fromValue([{ value: '<<victim.userId>>' }])) },
  { weight: 1, arbitrary: fc.constant<Json>({ obj: [['__proto__', { obj: [['polluted', { str: 'yes' }]] }]] }) },
);

const patchOperation: fc.Arbitrary<Json> = fc
  .record({
    op: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace') }, { weight: 1, arbitrary: hostileString }),
    path: fc.option(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PATCH_PATHS) }, { weight: 1, arbitrary: hostileString }), { nil: undefined, freq: 8 }),
    value: fc.option(patchValue, { nil: undefined, freq: 8 }),
  })
  .chain(({ op, path, value }) => {
    const entries: Array<[string, Json]> = [['op', { str: op }]];
    if (path !== undefined) entries.push(['path', { str: path }]);
    if (value !== undefined) entries.push(['value', value]);
    return fc.oneof({ weight: 7, arbitrary: fc.constant<Json>({ obj: entries }) }, { weight: 1, arbitrary: withHostileEntries(entries) });
  });

/** The shapes that walk into a prototype (path, or a key of a path-less value), with a plain value: rarely well-formed otherwise. */
const prototypeWalk: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom('add', 'replace'), fc.constantFrom('__proto__.polluted', 'constructor.prototype.polluted', 'name.__proto__.polluted', 'emails[type eq "work"].__proto__.polluted'), fc.boolean(), hostileString)
  .map(([op, path, inValue, str]): Json => ({ obj: inValue ? [['op', { str: op }], ['value', { obj: [[path, { str }]] }]] : [['op', { str: op }], ['path', { str: path }], ['value', { str }]] }));

/** A PatchOp body; now and then with a hostile envelope. Mostly well-formed, since one bad operation refuses them all before any is applied. */
export const scimPatchBody: fc.Arbitrary<Json> = fc
  .array(fc.oneof({ weight: 6, arbitrary: patchOperation }, { weight: 1, arbitrary: prototypeWalk }), { minLength: 1, maxLength: 3 })
  .chain((ops) =>
    fc.oneof(
      { weight: 7, arbitrary: fc.constant<Json>({ obj: [['schemas', fromValue([PATCH_OP])], ['Operations', { arr: ops }]] }) },
      { weight: 1, arbitrary: withHostileEntries([['schemas', fromValue([PATCH_OP])], ['Operations', { arr: ops }]]) },
    ),
  );

const FILTER_ATTRIBUTES = [
  'userName', 'emails.value', 'emails[type eq "work"].value', 'name.givenName', 'meta.lastModified', 'meta.created', 'id', 'externalId',
  'members.value', 'displayName', 'active', 'title', `${ENTERPRISE}:department`, `${USER_SCHEMA}:userName`,
];
const HOSTILE_FILTER_ATTRIBUTES = ['urn:evil:attr', '__proto__', 'constructor.prototype', 'emails.__proto__', 'nosuchattribute', 'a.b.c', 'members', ''];
const filterAttribute = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FILTER_ATTRIBUTES) }, fc.constantFrom(...HOSTILE_FILTER_ATTRIBUTES));
const filterOperator = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Co') }, fc.constantFrom('like', '==', 'in', ''));

const filterValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileString.map((s) => JSON.stringify(s)) },
  fc.constantFrom('true', 'false', 'null', '1', '-1.5e400', '123456789012345678901234567890', '"2026-01-01T00:00:00Z"', '"<<victim.userId>>"', 'unquoted', '"unterminated', "'single'"),
);

/** SCIM filters (RFC 7644 §3.4.2.2), mostly well-formed, with hostile attributes, operators and values. */
export const scimFilter: fc.Arbitrary<string> = fc.letrec<{ filter: string }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: fc.tuple(filterAttribute, filterOperator, filterValue).map(([a, o, v]) => `${a} ${o} ${v}`) },
    { weight: 1, arbitrary: filterAttribute.map((a) => `${a} pr`) },
    { weight: 2, arbitrary: fc.tuple(tie('filter'), fc.constantFrom('and', 'or', 'AND', 'xor'), tie('filter')).map(([l, o, r]) => `${l} ${o} ${r}`) },
    { weight: 1, arbitrary: tie('filter').map((f) => `not (${f})`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('emails', 'members', 'addresses', '__proto__'), tie('filter')).map(([a, f]) => `${a}[${f}]`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(1, 10, 50, 200, 5000), tie('filter')).map(([n, f]) => `${'('.repeat(n)}${f}${')'.repeat(n)}`) },
    { weight: 1, arbitrary: hostileString },
  ),
})).filter;

const listParameter = fc.constantFrom('-1', '0', '1', '1e9', 'abc', '99999999999999999999', '1.5', '', '__proto__');

/** The query string of a list request: a filter and the other list parameters, hostile or absent. */
export const scimListQuery: fc.Arbitrary<string> = fc
  .record(
    {
      filter: scimFilter,
      attributes: fc.array(hostileKey, { maxLength: 3 }).map((a) => a.join(',')),
      excludedAttributes: fc.array(hostileKey, { maxLength: 3 }).map((a) => a.join(',')),
      sortBy: fc.oneof(filterAttribute, hostileString),
      sortOrder: fc.constantFrom('ascending', 'descending', 'sideways'),
      count: listParameter,
      startIndex: listParameter,
    },
    { requiredKeys: ['filter'] },
  )
  .map((params) => new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString());

/** A POST /.search body: the list parameters as JSON, hostile entries added. */
export const scimSearchBody: fc.Arbitrary<Json> = fc
  .tuple(scimFilter, fc.oneof(hostileNumber, fc.constant<Json>({ raw: '10' })))
  .chain(([filter, count]) => withHostileEntries([['schemas', fromValue(['urn:ietf:params:scim:api:messages:2.0:SearchRequest'])], ['filter', { str: filter }], ['count', count]]));

// ---- GraphQL -----------------------------------------------------------------------------------

export interface GraphQLRequest {
  /** The request body, written as text (the variables may repeat keys or hold "__proto__"). */
  body: string;
  query: string;
}

/** Ids a GraphQL argument may name (filled in when sent): the victim's objects, and the attacker's own. */
export interface IdPool {
  ids: string[];
}

const INTS = ['0', '1', '-1', '2', '50', '500', '2147483647', '2147483648', '-2147483649', '1e21', '0.5', '"1"', 'null'];
const PROVIDERS = ['scim', 'clerk', 'workos', 'stytch', 'template', '__proto__', 'constructor'];

/**
 * One operation over the real schema: a few root fields (query or mutation) with aliases, random
 * selections (inline fragments and named fragments among them) and arguments given as literals or
 * as variables, the variables' values hostile (of the declared type or not).
 */
export function graphqlRequest(g: fc.GeneratorValue, schema: GraphQLSchema, pool: IdPool): GraphQLRequest {
  const pick = <T>(items: readonly T[]): T => items[g(fc.nat, items.length - 1)]!;
  const chance = (percent: number) => g(fc.nat, 99) < percent;
  const declarations: string[] = [];
  const variables: Array<[string, Json]> = [];
  const fragments: string[] = [];
  let names = 0;

  const leafJson = (type: GraphQLNamedType, argName: string): Json => {
    if (chance(15)) return g(() => hostileJson);
    if (isEnumType(type)) return chance(80) ? { str: pick(type.getValues()).name } : { str: g(() => hostileString) };
    switch (type.name) {
      case 'ID':
        return { str: chance(85) ? pick(pool.ids) : g(() => hostileString) };
      case 'Int':
      case 'Float':
        return { raw: pick(INTS) };
      case 'Boolean':
        return { raw: pick(['true', 'false', '"true"', '1']) };
      case 'DateTime':
        return { str: pick(['2026-01-01T00:00:00Z', 'not a date', '9999-99-99T99:99:99Z', '']) };
      case 'JSON':
        return g(() => hostileJson);
      default:
        return { str: argName === 'provider' && chance(70) ? pick(PROVIDERS) : g(() => hostileString) };
    }
  };
  const valueJson = (type: GraphQLInputType, argName: string): Json => {
    const inner = getNullableType(type);
    if (!isNonNullType(type) && chance(5)) return { raw: 'null' };
    if (isListType(inner)) return chance(20) ? valueJson(inner.ofType, argName) : { arr: Array.from({ length: g(fc.nat, 2) }, () => valueJson(inner.ofType, argName)) };
    if (isInputObjectType(inner)) {
      const entries: Array<[string, Json]> = Object.values(inner.getFields())
        .filter((f) => isNonNullType(f.type) || chance(50))
        .map((f) => [f.name, valueJson(f.type, f.name)]);
      if (chance(15)) entries.push([g(() => hostileKey), g(() => hostileJson)]);
      return { obj: entries };
    }
    return leafJson(inner, argName);
  };
  /** GraphQL literal syntax: a JSON string is a valid GraphQL string; object keys must be names. */
  const literalOf = (j: Json): string => {
    if ('str' in j) return JSON.stringify(j.str);
    if ('raw' in j) return j.raw.startsWith('{') || j.raw.startsWith('[') ? j.raw.replace(/"(\w+)":/g, '$1:') : j.raw;
    if ('arr' in j) return `[${j.arr.map(literalOf).join(', ')}]`;
    if ('obj' in j) return `{${j.obj.map(([k, v]) => `${/^[_A-Za-z]\w*$/.test(k) ? k : JSON.stringify(k)}: ${literalOf(v)}`).join(', ')}}`;
    return literalOf(j.inner);
  };
  const enumLiteral = (type: GraphQLInputType, j: Json): string | undefined => (isEnumType(getNamedType(type)) && 'str' in j && /^[_A-Za-z]\w*$/.test(j.str) ? j.str : undefined);
  const argument = (name: string, type: GraphQLInputType): string => {
    const value = valueJson(type, name);
    if (chance(50)) {
      const variable = `v${++names}`;
      // Now and then declared with another type than the argument's.
      declarations.push(`$${variable}: ${chance(10) ? pick(['String', 'Int', 'JSON', 'ID!', '[ID]']) : String(type)}`);
      variables.push([variable, value]);
      return `${name}: $${variable}`;
    }
    return `${name}: ${isListType(getNullableType(type)) || isInputObjectType(getNamedType(type)) ? literalOf(value) : (enumLiteral(type, value) ?? literalOf(value))}`;
  };
  const selection = (type: GraphQLNamedType, depth: number): string => {
    if (isLeafType(type)) return '';
    if (isUnionType(type)) return `{ __typename ${type.getTypes().map((t) => `... on ${t.name} { __typename }`).join(' ')} }`;
    if (!isObjectType(type) && !isInterfaceType(type)) return '';
    const fields = Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>;
    const parts: string[] = [];
    if (depth >= 3) return '{ __typename }';
    for (let i = g(fc.integer, { min: 1, max: 3 }); i > 0; i--) parts.push(field(pick(fields), depth + 1));
    if (chance(15)) parts.push(`... on ${type.name} ${selection(type, depth + 1)}`);
    if (chance(10)) {
      const fragment = `F${++names}`;
      fragments.push(`fragment ${fragment} on ${type.name} ${selection(type, depth + 1)}`);
      parts.push(`...${fragment}`);
    }
    return `{ ${parts.join(' ')} }`;
  };
  const field = (f: GraphQLField<unknown, unknown>, depth: number): string => {
    const alias = chance(25) ? `a${++names}: ` : '';
    const args = f.args.filter((a) => isNonNullType(a.type) || chance(35)).map((a) => argument(a.name, a.type));
    return `${alias}${f.name}${args.length ? `(${args.join(', ')})` : ''} ${selection(getNamedType(f.type), depth)}`.trim();
  };

  const mutation = chance(30);
  const root = mutation ? schema.getMutationType()! : schema.getQueryType()!;
  const roots = Object.values(root.getFields());
  const parts = Array.from({ length: g(fc.integer, { min: 1, max: mutation ? 1 : 3 }) }, () => field(pick(roots), 0));
  const query = [`${mutation ? 'mutation' : 'query'} Fuzz${declarations.length ? `(${declarations.join(', ')})` : ''} { ${parts.join(' ')} }`, ...fragments].join('\n');
  if (chance(10)) variables.push(['__proto__', { obj: [['polluted', { str: 'yes' }]] }]);
  return { query, body: `{"query":${JSON.stringify(query)},"variables":${jsonText({ obj: variables })}}` };
}

// ---- webhooks ----------------------------------------------------------------------------------

/** `mutations` replace the n-th value (in document order) of a recorded payload, `additions` add entries to the n-th object. */
export const payloadEdits = fc.record({
  replacements: fc.array(fc.tuple(fc.nat(200), hostileJson), { maxLength: 3 }),
  additions: fc.array(fc.tuple(fc.nat(50), hostileKey, hostileJson), { maxLength: 3 }),
});
export type PayloadEdits = typeof payloadEdits extends fc.Arbitrary<infer T> ? T : never;

export function editPayload(payload: Json, edits: PayloadEdits): Json {
  const nodes: Json[] = [];
  const objects: Array<{ obj: Array<[string, Json]> }> = [];
  const walk = (j: Json) => {
    nodes.push(j);
    if ('obj' in j) {
      objects.push(j);
      j.obj.forEach(([, v]) => walk(v));
    } else if ('arr' in j) j.arr.forEach(walk);
  };
  walk(payload);
  const replaced = new Map(edits.replacements.map(([n, v]) => [nodes[n % nodes.length]!, v]));
  const added = new Map<Json, Array<[string, Json]>>();
  for (const [n, k, v] of edits.additions) {
    const target = objects[n % objects.length]!;
    added.set(target, [...(added.get(target) ?? []), [k, v]]);
  }
  const rebuild = (j: Json): Json => {
    if (replaced.has(j)) return replaced.get(j)!;
    if ('obj' in j) return { obj: [...j.obj.map(([k, v]): [string, Json] => [k, rebuild(v)]), ...(added.get(j) ?? [])] };
    if ('arr' in j) return { arr: j.arr.map(rebuild) };
    return j;
  };
  return rebuild(payload);
}
