// Filters (RFC 7644 §3.4.2.2): parse.ts reads the grammar, directory.ts turns it into the hub's
// directory filter, which the hub runs in its database. Anything that cannot be served is a 400
// with scimType invalidFilter.
export { FILTER_LIMITS, filterPaths, parseFilter, type CompValue, type FilterNode } from './parse.ts';
export { toDirectoryFilter } from './directory.ts';
