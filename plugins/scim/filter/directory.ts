// A parsed SCIM filter → the hub's directory filter (lifecycle-hub/connector), which the hub runs in
// its database. Here is what SCIM knows: attribute paths resolved through the schemas (any case,
// URN-qualified or not), which attributes the hub keeps as its own fields, and what SCIM refuses
// (password, groups, meta other than created and lastModified). Attributes the hub has no field
// for are read from the stored SCIM resource (sourceData), typed as the schema says.
import type { DirectoryFilter, ElementField, ElementFilter, FilterField, FilterList, FilterType, GroupColumn, UserColumn } from 'lifecycle-hub/connector';
import { invalidFilter } from '../errors/index.ts';
import { resolveAttribute, type ResourceKind, type ResolvedAttribute } from '../schemas/attributes.ts';
import type { AttributeDef } from '../schemas/definitions.ts';
import { ENTERPRISE_USER } from '../schemas/urns.ts';
import type { FilterNode } from './parse.ts';

/** Where a SCIM attribute is in the hub: one of its fields, a list of objects, or a group's members. */
type Target = { kind: 'field'; field: FilterField } | { kind: 'list'; list: FilterList; element: (sub: string) => ElementField; defaultSub: string };

/** SCIM attributes the hub keeps as fields of its own (indexed ones among them). */
const USER_FIELDS: Record<string, UserColumn> = {
  id: 'id',
  externalId: 'externalId',
  'meta.created': 'created',
  'meta.lastModified': 'lastModified',
  userName: 'userName',
  'name.givenName': 'givenName',
  'name.familyName': 'familyName',
  title: 'title',
  [`${ENTERPRISE_USER}:department`]: 'department',
  [`${ENTERPRISE_USER}:employeeNumber`]: 'employeeNumber',
  [`${ENTERPRISE_USER}:manager`]: 'manager',
  [`${ENTERPRISE_USER}:manager.value`]: 'manager',
  active: 'active',
};
const GROUP_FIELDS: Record<string, GroupColumn> = {
  id: 'id',
  externalId: 'externalId',
  'meta.created': 'created',
  'meta.lastModified': 'lastModified',
  displayName: 'displayName',
  members: 'members',
  'members.value': 'members',
};

function typeOf(def: AttributeDef): FilterType {
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

function elementOf(kind: ResourceKind, attribute: AttributeDef) {
  return (sub: string): ElementField => {
    const def = (attribute.subAttributes ?? []).find((s) => s.name.toLowerCase() === sub.toLowerCase());
    if (!def) throw invalidFilter(`"${sub}" is not a sub-attribute of ${kind} ${attribute.name}`);
    return { element: def.name, type: typeOf(def), caseExact: def.caseExact ?? false };
  };
}

function targetOf(kind: ResourceKind, resolved: ResolvedAttribute, path: string): Target {
  const { canonical, attribute, subAttribute } = resolved;
  const column = (kind === 'User' ? USER_FIELDS : GROUP_FIELDS)[canonical];
  if (column) return { kind: 'field', field: { column } };
  if (canonical.startsWith('meta')) throw invalidFilter(`filtering on ${path} is not supported (meta.created and meta.lastModified are)`);
  if (kind === 'User') {
    if (canonical === 'password') throw invalidFilter('password is never stored, so it cannot be filtered on');
    if (canonical === 'groups' || canonical.startsWith('groups.')) throw invalidFilter('filter groups by their members instead: GET /Groups?filter=members eq "<user id>"');
    if (canonical === 'emails' || canonical.startsWith('emails.')) {
      return { kind: 'list', list: { list: 'emails' }, element: elementOf('User', attribute), defaultSub: subAttribute?.name ?? 'value' };
    }
  } else if (canonical.startsWith('members.')) {
    throw invalidFilter(`filtering on ${path} is not supported (members.value is)`);
  }
  // Everything else: the stored SCIM resource.
  if (attribute.multiValued) {
    const listPath = resolved.jsonPath.slice(0, resolved.schema === ENTERPRISE_USER ? 2 : 1);
    return { kind: 'list', list: { list: 'sourceData', path: listPath }, element: elementOf(kind, attribute), defaultSub: subAttribute?.name ?? 'value' };
  }
  if (attribute.type === 'complex' && !subAttribute) throw invalidFilter(`${path} is a complex attribute: filter on one of its sub-attributes (e.g. ${path}.${attribute.subAttributes?.[0]?.name ?? 'value'})`);
  const def = subAttribute ?? attribute;
  return { kind: 'field', field: { sourceData: resolved.jsonPath, type: typeOf(def), caseExact: def.caseExact ?? false } };
}

function resolve(kind: ResourceKind, path: string): Target {
  const resolved = resolveAttribute(kind, path);
  if (!resolved) throw invalidFilter(`"${path}" is not an attribute of ${kind}`);
  return targetOf(kind, resolved, path);
}

const isMembers = (target: Target) => target.kind === 'field' && 'column' in target.field && target.field.column === 'members';

/** Inside `attr[…]`: sub-attributes of one element. */
function elementFilter(node: FilterNode, element: (sub: string) => ElementField, outer: string): ElementFilter {
  const field = (sub: string) => {
    if (sub.includes('.') || sub.includes(':')) throw invalidFilter(`inside ${outer}[…] name sub-attributes only (found "${sub}")`);
    return element(sub);
  };
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, left: elementFilter(node.left, element, outer), right: elementFilter(node.right, element, outer) };
    case 'not':
      return { kind: 'not', filter: elementFilter(node.expr, element, outer) };
    case 'present':
      return { kind: 'present', field: field(node.path) };
    case 'compare':
      return { kind: 'compare', field: field(node.path), op: node.op, value: node.value, label: node.path };
    case 'valuePath':
      throw invalidFilter(`inside ${outer}[…] name sub-attributes only (found "${node.path}[…]")`);
  }
}

function translate(kind: ResourceKind, node: FilterNode, resolveIn: (path: string) => Target): DirectoryFilter {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, left: translate(kind, node.left, resolveIn), right: translate(kind, node.right, resolveIn) };
    case 'not':
      return { kind: 'not', filter: translate(kind, node.expr, resolveIn) };
    case 'present': {
      const target = resolveIn(node.path);
      return { kind: 'present', field: target.kind === 'field' ? target.field : target.list };
    }
    case 'compare': {
      const target = resolveIn(node.path);
      if (target.kind === 'field') return { kind: 'compare', field: target.field, op: node.op, value: node.value, label: node.path };
      // A multi-valued attribute matches when any element does (RFC 7644 §3.4.2.2).
      return { kind: 'some', list: target.list, where: { kind: 'compare', field: target.element(target.defaultSub), op: node.op, value: node.value, label: node.path } };
    }
    case 'valuePath': {
      const target = resolveIn(node.path);
      if (isMembers(target)) {
        // members[value eq "…"]: the same as members eq "…".
        return translate(kind, node.filter, (sub) => {
          if (sub.toLowerCase() !== 'value') throw invalidFilter(`members[${sub} …]: only members[value …] is supported`);
          return target;
        });
      }
      if (target.kind !== 'list') throw invalidFilter(`${node.path} is not multi-valued, so it takes no [filter]`);
      return { kind: 'some', list: target.list, where: elementFilter(node.filter, target.element, node.path) };
    }
  }
}

/** The directory filter for a SCIM filter on /Users or /Groups. */
export function toDirectoryFilter(kind: ResourceKind, node: FilterNode): DirectoryFilter {
  return translate(kind, node, (path) => resolve(kind, path));
}
