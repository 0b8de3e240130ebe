// SCIM list requests built to be slow or to break the query: deeply nested and/or chains, many
// terms, huge `co` strings, LIKE wildcards, unindexed attributes, huge count and startIndex. Each is
// refused with 400 invalidFilter/invalidValue, or answered correctly within maxResults; none is a
// 500. (Speed is measured by the benchmarks, not asserted here.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILTER_LIMITS } from '../../plugins/scim/filter/parse.ts';
import { expectScimError, LIST_RESPONSE, USER_SCHEMA } from '../scim/support.ts';
import { startTestHub, type TestHub } from '../support/server.ts';
import { createTenant, type Tenant } from './support.ts';

let t: TestHub;
let a: Tenant;
beforeAll(async () => {
  t = await startTestHub();
  a = await createTenant(t, 'Alpha');
  for (let i = 0; i < 5; i++) {
    const r = await a.scim.request('POST', '/Users', { body: { schemas: [USER_SCHEMA], userName: `user${i}@alpha.test`, title: i % 2 ? 'Engineer' : 'Designer', emails: [{ value: `user${i}@alpha.test`, type: 'work' }] } });
    expect(r.status).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const list = (filter: string, extra = '') => a.scim.request('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);
const search = (body: Record<string, unknown>) => a.scim.request('POST', '/Users/.search', { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], ...body } });

describe('filters past the limits: 400 invalidFilter', () => {
  const nestedParens = (depth: number) => `${'('.repeat(depth)}userName eq "x"${')'.repeat(depth)}`;
  const nestedNot = (depth: number) => `${'not ('.repeat(depth)}userName eq "x"${')'.repeat(depth)}`;
  const terms = (n: number, op = 'or') => Array.from({ length: n }, (_, i) => `userName eq "u${i}"`).join(` ${op} `);
  const cases: Array<[string, string]> = [
    [`parentheses nested ${FILTER_LIMITS.maxDepth + 1} deep`, nestedParens(FILTER_LIMITS.maxDepth + 2)],
    ['parentheses nested 5,000 deep', nestedParens(5000).slice(0, FILTER_LIMITS.maxLength)],
    [`"not" nested ${FILTER_LIMITS.maxDepth + 2} deep`, nestedNot(FILTER_LIMITS.maxDepth + 2)],
    [`${FILTER_LIMITS.maxTerms + 1} "or" terms`, terms(FILTER_LIMITS.maxTerms + 1)],
    [`${FILTER_LIMITS.maxTerms + 1} "and" terms`, terms(FILTER_LIMITS.maxTerms + 1, 'and')],
    [`valuePath filters nested in valuePath filters`, `emails[${'value pr and emails['.repeat(FILTER_LIMITS.maxDepth + 1)}value pr${']'.repeat(FILTER_LIMITS.maxDepth + 2)}`],
    [`a filter over ${FILTER_LIMITS.maxLength} characters`, `userName co "${'a'.repeat(FILTER_LIMITS.maxLength)}"`],
    ['an unterminated string', 'userName eq "abc'],
    ['an unknown attribute', 'password eq "x"'],
    ['an unknown operator', 'userName regex ".*"'],
    ['SQL in an attribute name', 'userName;DROP TABLE directory_user eq "x"'],
  ];
  it.each(cases)('%s', async (_name, filter) => {
    expectScimError(await list(filter), 400, 'invalidFilter');
    expectScimError(await search({ filter }), 400, 'invalidFilter');
  });
});

describe('filters within the limits: answered correctly', () => {
  const userNames = (reply: Awaited<ReturnType<typeof list>>) => (reply.body.Resources as Array<{ userName: string }>).map((r) => r.userName).sort();

  it(`${FILTER_LIMITS.maxTerms} "or" terms on an unindexed attribute`, async () => {
    const filter = Array.from({ length: FILTER_LIMITS.maxTerms }, (_, i) => `title eq "T${i}"`).join(' or ').replace('T0', 'Engineer');
    const reply = await list(filter);
    expect(reply.status).toBe(200);
    expect(userNames(reply)).toEqual(['user1@alpha.test', 'user3@alpha.test']);
  });

  it(`nesting at the limit (${FILTER_LIMITS.maxDepth} levels), mixing and/or/not and valuePaths`, async () => {
    let filter = 'emails[type eq "work" and value co "user"]';
    for (let i = 0; i < FILTER_LIMITS.maxDepth - 2; i++) filter = i % 2 ? `(${filter} and userName pr)` : `(${filter} or title eq "none")`;
    const reply = await list(`${filter} and not (title eq "Designer")`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(userNames(reply)).toEqual(['user1@alpha.test', 'user3@alpha.test']);
  });

  it('a 4,000-character "co" string (as long as a filter may be) matches nothing, without error', async () => {
    const reply = await list(`userName co "${'a'.repeat(FILTER_LIMITS.maxLength - 20)}"`);
    expect(reply.status).toBe(200);
    expect(reply.body.totalResults).toBe(0);
  });

  it.each([
    ['co "%"', 'userName co "%"'],
    ['sw "_"', 'userName sw "_"'],
    ['ew "%"', 'userName ew "%"'],
    ['co "\\\\"', 'userName co "\\\\"'],
    ['co on an unindexed attribute with wildcards', 'title co "%_%"'],
  ])('LIKE wildcards are literal: %s matches nothing', async (_name, filter) => {
    const reply = await list(filter);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.totalResults).toBe(0);
  });

  it('values that look like SQL are only values', async () => {
    for (const filter of [`userName eq "x' OR '1'='1"`, 'userName eq "x\\" or userName pr or userName eq \\"y"', `externalId eq "'; DROP TABLE directory_user; --"`]) {
      const reply = await list(filter);
      expect(reply.status, filter).toBe(200);
      expect(reply.body.totalResults, filter).toBe(0);
    }
  });
});

describe('paging parameters', () => {
  it('count far above maxResults is capped to it', async () => {
    const reply = await a.scim.request('GET', '/Users?count=1000000000');
    expect(reply.status).toBe(200);
    expect(reply.body.schemas).toEqual([LIST_RESPONSE]);
    expect(reply.body.itemsPerPage).toBeLessThanOrEqual(1000);
    expect(reply.body.totalResults).toBe(6);
  });

  it.each(['99999999999', '9223372036854775807', '99999999999999999999999', '1e300'])('startIndex=%s: an empty page (or 400 invalidValue), never a 500', async (startIndex) => {
    for (const path of [`/Users?startIndex=${startIndex}`, `/Groups?startIndex=${startIndex}`, `/Users?startIndex=${startIndex}&filter=${encodeURIComponent('title eq "Engineer"')}`]) {
      const reply = await a.scim.request('GET', path);
      if (reply.status === 400) expectScimError(reply, 400, 'invalidValue');
      else {
        expect(reply.status, `${path}: ${JSON.stringify(reply.body)}`).toBe(200);
        expect(reply.body.Resources ?? []).toEqual([]);
      }
    }
  });

  it.each(['-5', 'abc', '1.5', '0x10', ''])('count=%s / startIndex=%s: 400 invalidValue or the default, never a 500', async (value) => {
    for (const param of ['count', 'startIndex']) {
      const reply = await a.scim.request('GET', `/Users?${param}=${encodeURIComponent(value)}`);
      if (reply.status === 400) expectScimError(reply, 400, 'invalidValue');
      else expect(reply.status, `${param}=${value}`).toBe(200);
    }
  });

  it('attributes / excludedAttributes naming thousands of attributes: answered, never a 500', async () => {
    // 500 names fit the server's 16 kB header limit (beyond it Node answers 431 itself).
    const names = Array.from({ length: 500 }, (_, i) => `name${i}.sub`).join(',');
    for (const param of ['attributes', 'excludedAttributes']) {
      const reply = await a.scim.request('GET', `/Users?${param}=${names}`);
      expect([200, 400]).toContain(reply.status);
      if (reply.status === 400) expectScimError(reply, 400);
    }
  });
});
