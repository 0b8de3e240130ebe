// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a response
// carries. `id` and `schemas` are always returned.
import { resolveAttribute, type ResourceKind } from '../schemas/attributes.ts';
import { isObject, type Json } from './user.ts';

export interface Projection {
  attributes?: string[];
  excludedAttributes?: string[];
}

export function parseAttributeList(value: string | undefined | null): string[] | undefined {
  if (!value) return undefined;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

function pathOf(kind: ResourceKind, name: string): string[] {
  return resolveAttribute(kind, name)?.jsonPath ?? name.split('.');
}

/** True when the response needs this top-level attribute (e.g. skip loading members). */
export function wantsAttribute(kind: ResourceKind, projection: Projection, attribute: string): boolean {
  const top = (name: string) => pathOf(kind, name)[0]?.toLowerCase();
  const target = attribute.toLowerCase();
  if (projection.attributes) return projection.attributes.some((a) => top(a) === target);
  if (projection.excludedAttributes) return !projection.excludedAttributes.some((a) => top(a) === target && pathOf(kind, a).length === 1);
  return true;
}

/** The part of `source` on `path` (same shape, other attributes left out), or undefined. */
function pick(source: unknown, path: string[]): unknown {
  if (Array.isArray(source)) {
    const picked = source.map((item) => pick(item, path)).filter((v) => v !== undefined);
    return picked.length ? picked : undefined;
  }
  if (!isObject(source)) return undefined;
  const key = Object.keys(source).find((k) => k.toLowerCase() === path[0]!.toLowerCase());
  if (key === undefined) return undefined;
  if (path.length === 1) return { [key]: source[key] };
  const inner = pick(source[key], path.slice(1));
  return inner === undefined ? undefined : { [key]: inner };
}

function merge(target: Json, addition: Json) {
  for (const [k, v] of Object.entries(addition)) {
    if (isObject(v) && isObject(target[k])) merge(target[k] as Json, v);
    else if (Array.isArray(v) && Array.isArray(target[k])) {
      const existing = target[k] as unknown[];
      target[k] = v.map((item, i) => (isObject(item) && isObject(existing[i]) ? (merge(existing[i] as Json, item), existing[i]) : item));
    } else target[k] = v;
  }
}

function remove(target: unknown, path: string[]) {
  if (Array.isArray(target)) return target.forEach((item) => remove(item, path));
  if (!isObject(target) || !path.length) return;
  const key = Object.keys(target).find((k) => k.toLowerCase() === path[0]!.toLowerCase());
  if (key === undefined) return;
  if (path.length === 1) delete target[key];
  else remove(target[key], path.slice(1));
}

export function project(kind: ResourceKind, resource: Json, projection: Projection): Json {
  if (projection.attributes) {
    const out: Json = { schemas: resource.schemas, id: resource.id };
    for (const name of projection.attributes) {
      const path = pathOf(kind, name);
      const value = pick(resource, path);
      if (value !== undefined) merge(out, value as Json);
    }
    return out;
  }
  if (projection.excludedAttributes) {
    const out = structuredClone(resource);
    for (const name of projection.excludedAttributes) {
      const path = pathOf(kind, name);
      if (path.length === 1 && (path[0] === 'id' || path[0] === 'schemas')) continue;
      remove(out, path);
    }
    return out;
  }
  return resource;
}
