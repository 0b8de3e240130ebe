// Filters (RFC 7644 §3.4.2.2): parse.ts reads the grammar, sql.ts turns it into a parameterized
// SQL condition. Anything that cannot be served is a 400 with scimType invalidFilter.
export { FILTER_LIMITS, filterPaths, parseFilter, type CompValue, type FilterNode } from './parse.ts';
export { filterToSql, SqlParams } from './sql.ts';
