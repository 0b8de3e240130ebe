// The one error table: every code answers the same way in each protocol's mapper, and a transient
// database failure is UNAVAILABLE everywhere.
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { fromHubError } from '../../plugins/scim/errors/index.ts';
import { toGraphQLError } from '../../src/graphql/errors.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../../src/storage/sql.ts';
import { ERRORS, HubError, knownError, type ErrorCode } from '../../src/hub/errors.ts';

const codes = Object.keys(ERRORS) as ErrorCode[];

describe('the error table', () => {
  it.each(codes)('%s: GraphQL and SCIM answer as the table says', (code) => {
    const error = new HubError(code, 'why');
    const graphql = toGraphQLError(error) as GraphQLError;
    expect(graphql.extensions).toMatchObject({ code: ERRORS[code].graphql, retryable: ERRORS[code].retryable });
    const scim = fromHubError(error);
    expect(scim.status).toBe(ERRORS[code].scim.status);
    expect(scim.scimType).toBe((ERRORS[code].scim as { scimType?: string }).scimType);
    if (ERRORS[code].retryable) expect(scim.headers['Retry-After']).toMatch(/^\d+$/);
  });

  it('a transient database failure is UNAVAILABLE, with the database retry delay, in every protocol', () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    const known = knownError(lost);
    expect(known).toMatchObject({ code: 'UNAVAILABLE', details: { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS } });
    expect((toGraphQLError(lost) as GraphQLError).extensions.code).toBe('UNAVAILABLE');
    expect(fromHubError(known!).headers['Retry-After']).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
  });

  it('an unexpected error is nobody\'s code: masked (GraphQL) and answered 500 by the callers', () => {
    const bug = new TypeError('x is undefined');
    expect(knownError(bug)).toBeNull();
    expect(toGraphQLError(bug)).toBe(bug);
  });

  it('recognizes the hub\'s errors by name too (a connector loaded from a path has its own SDK copy)', () => {
    const foreign = Object.assign(new Error('gone'), { name: 'EngineError', code: 'NOT_FOUND', details: {} });
    expect(knownError(foreign)).toBe(foreign);
    expect(knownError(Object.assign(new Error('x'), { name: 'EngineError', code: 'NOPE' }))).toBeNull();
    expect(knownError(Object.assign(new Error('x'), { name: 'HubError', code: 'toString' }))).toBeNull();
  });
});
