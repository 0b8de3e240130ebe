// Typed reads of what a connection holds, for connectors that serve their own routes (SCIM's GET
// and filters): the hub owns the tables and the SQL, a connector asks in these terms. Filters are a
// small tree over the hub's own fields; a protocol's filter language (SCIM's) is parsed by its
// connector into this tree, and the hub compiles it (src/connectors/directory/filter-sql.ts).
import type { GroupRecord, UserRecord } from '../../engine/types.ts';

/** A user as a directory read returns it. `version` is its ETag: it grows on every change. */
export type DirectoryUser = Pick<
  UserRecord,
  'id' | 'userName' | 'externalId' | 'displayName' | 'givenName' | 'familyName' | 'emails' | 'sourceData' | 'sourceActive' | 'version' | 'createdAt' | 'updatedAt'
>;

/** A group as a directory read returns it (members are read with groupMembers). */
export type DirectoryGroup = Pick<GroupRecord, 'id' | 'displayName' | 'externalId' | 'sourceData' | 'version' | 'createdAt' | 'updatedAt'>;

/** One member of a group: the user's id and the name to show for it. */
export interface DirectoryMember {
  groupId: string;
  /** The member's user id. */
  value: string;
  display: string | null;
}

/** A page of a listing: `totalResults` counts every match, `resources` the ones in the window asked for. */
export interface DirectoryPage<T> {
  totalResults: number;
  resources: T[];
}

export interface DirectoryQuery {
  filter?: DirectoryFilter;
  /** 1-based index of the first result (default 1). */
  startIndex?: number;
  /** How many results at most; 0 returns only totalResults. Default: all. */
  count?: number;
}

/**
 * Reads of one connection's live users and groups (deleted ones are never returned), ordered by id.
 * Ids that are not the hub's (not UUIDs) find nothing rather than fail.
 */
export interface DirectoryReader {
  getUser(id: string): Promise<DirectoryUser | null>;
  listUsers(query?: DirectoryQuery): Promise<DirectoryPage<DirectoryUser>>;
  getGroup(id: string): Promise<DirectoryGroup | null>;
  listGroups(query?: DirectoryQuery): Promise<DirectoryPage<DirectoryGroup>>;
  /** Current members of each group (suspended ones too), ordered by user id. */
  groupMembers(groupIds: readonly string[]): Promise<Map<string, DirectoryMember[]>>;
}

// ---- Filters ------------------------------------------------------------------------------

export type FilterOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;
export type FilterType = 'string' | 'boolean' | 'dateTime' | 'number';

/**
 * A field the hub keeps in its own columns. `userName` and `displayName` compare by their name keys
 * (case, Unicode form and invisible characters folded, as the engine matches names); `id` and
 * `members` (a group's member user ids: eq, ne, present) are UUIDs; `manager` is the manager's id.
 */
export type UserColumn = 'id' | 'externalId' | 'userName' | 'givenName' | 'familyName' | 'title' | 'department' | 'employeeNumber' | 'manager' | 'active' | 'created' | 'lastModified';
export type GroupColumn = 'id' | 'externalId' | 'displayName' | 'members' | 'created' | 'lastModified';

/** A value in the source's own representation as stored (sourceData), at `sourceData` (keys from the root). */
export interface SourceDataField {
  sourceData: readonly string[];
  type: FilterType;
  /** Compare strings case-sensitively (default: not). */
  caseExact?: boolean;
}

export type FilterField = { column: UserColumn | GroupColumn } | SourceDataField;

/** A list of objects: a user's `emails`, or an array in sourceData. */
export type FilterList = { list: 'emails' } | { list: 'sourceData'; path: readonly string[] };

/** A key of one element of a list (`value`, `type`, `primary` of an email). */
export interface ElementField {
  element: string;
  type: FilterType;
  caseExact?: boolean;
}

/** Both sides must hold (`and`) or either (`or`). */
interface Junction<T> {
  kind: 'and' | 'or';
  left: T;
  right: T;
}
interface Negation<T> {
  kind: 'not';
  filter: T;
}
interface Presence<Field> {
  kind: 'present';
  field: Field;
}
/** `label`: how the caller named the field, so an error about the comparison names it the same way. */
interface Comparison<Field> {
  kind: 'compare';
  field: Field;
  op: FilterOperator;
  value: FilterValue;
  label?: string;
}
/** Any element of `list` matches `where`. */
interface Some {
  kind: 'some';
  list: FilterList;
  where: ElementFilter;
}

/** A condition on one element of a list. */
export type ElementFilter = Junction<ElementFilter> | Negation<ElementFilter> | Presence<ElementField> | Comparison<ElementField>;

/**
 * A condition on users or groups. An absent value never matches a comparison (and `not` of one
 * matches); `present` is true for non-empty strings and lists; `some` matches when any element of
 * the list matches `where`. Keys in sourceData paths and element names are attribute names:
 * letters, digits and `$ _ : . -`.
 */
export type DirectoryFilter = Junction<DirectoryFilter> | Negation<DirectoryFilter> | Presence<FilterField | FilterList> | Comparison<FilterField> | Some;

/** A filter the hub cannot run (a field of the other resource, a value of the wrong type): the caller's 400. */
export class DirectoryFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectoryFilterError';
  }
}

/** By name as well as by class: a connector loaded from a path or a package has its own copy of the SDK. */
export const isDirectoryFilterError = (error: unknown): error is DirectoryFilterError => error instanceof DirectoryFilterError || (error as Error | null)?.name === 'DirectoryFilterError';
