// The directory filter compiler is public surface now (any connector can hand it a tree): values
// only ever become parameters, names only ever attribute names, and a tree it cannot run is a
// DirectoryFilterError, never SQL. (What filters find is checked over HTTP in test/scim.)
import { describe, expect, it } from 'vitest';
import { filterToSql, SqlParams } from './filter-sql.ts';
import { DirectoryFilterError, type DirectoryFilter } from './types.ts';

const compile = (kind: 'user' | 'group', filter: DirectoryFilter) => {
  const params = new SqlParams(['connection']);
  return { sql: filterToSql(kind, filter, params), values: params.values.slice(1) };
};

describe('the directory filter compiler', () => {
  it('binds every value as a parameter', () => {
    const hostile = `x'); DROP TABLE directory_user; --`;
    const { sql, values } = compile('user', {
      kind: 'or',
      left: { kind: 'compare', field: { column: 'title' }, op: 'co', value: hostile },
      right: { kind: 'compare', field: { sourceData: ['nickName'], type: 'string' }, op: 'eq', value: hostile },
    });
    expect(sql).not.toContain('DROP');
    // co is a LIKE pattern: its own wildcards in the value are escaped, not interpreted.
    expect(values).toEqual([`%${hostile.replace('_', '\\_')}%`, hostile]);
  });

  it('uses the name-key index for userName eq and the external-id index for externalId eq', () => {
    expect(compile('user', { kind: 'compare', field: { column: 'userName' }, op: 'eq', value: ' Ada@Example.COM ' })).toEqual({ sql: '(u.user_name_key = $2)', values: ['ada@example.com'] });
    expect(compile('user', { kind: 'compare', field: { column: 'externalId' }, op: 'eq', value: 'E1' }).sql).toBe('(u.external_id_key = $2)');
  });

  it.each<[string, 'user' | 'group', DirectoryFilter]>([
    ['a sourceData key with a quote', 'user', { kind: 'compare', field: { sourceData: [`a'}' OR true --`], type: 'string' }, op: 'eq', value: 'x' }],
    ['an element name with a quote', 'user', { kind: 'some', list: { list: 'emails' }, where: { kind: 'present', field: { element: `value' IS NULL OR '1`, type: 'string' } } }],
    ['a user field on groups', 'group', { kind: 'compare', field: { column: 'userName' }, op: 'eq', value: 'x' }],
    ['emails on groups', 'group', { kind: 'present', field: { list: 'emails' } }],
    ['a boolean compared with a word', 'user', { kind: 'compare', field: { column: 'active' }, op: 'eq', value: 'maybe' }],
    ['co on members', 'group', { kind: 'compare', field: { column: 'members' }, op: 'co', value: 'x' }],
    ['an unknown node', 'user', { kind: 'xor' } as unknown as DirectoryFilter],
    ['an unknown field type', 'user', { kind: 'compare', field: { sourceData: ['a'], type: 'blob' as 'string' }, op: 'eq', value: 'x' }],
  ])('refuses %s with a DirectoryFilterError', (_what, kind, filter) => {
    expect(() => compile(kind, filter)).toThrow(DirectoryFilterError);
  });
});
