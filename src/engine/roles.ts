/** Organization-level roles live under this workspace key. */
export const ORG_WORKSPACE = '';

export interface RoleMapping {
  groupId: string;
  workspace: string;
  role: string | null;
}

export interface RoleSettings {
  /** Lowest to highest; the last is the admin role. */
  roleRanking: string[];
  defaultRole: string | null;
}

export interface EffectiveRoles {
  /** workspace ("" = organization) -> role */
  roles: Record<string, string>;
  isAdmin: boolean;
}

export const adminRole = (settings: RoleSettings) => settings.roleRanking[settings.roleRanking.length - 1] ?? null;

/**
 * A user's roles from the groups they are an active member of. Per workspace the highest-ranked
 * mapped role wins; a mapping without a role grants the default role in its workspace; a user no
 * mapping reaches gets the default role in the organization.
 */
export function computeRoles(memberOfGroupIds: Iterable<string>, mappings: readonly RoleMapping[], settings: RoleSettings): EffectiveRoles {
  const rank = (role: string) => settings.roleRanking.indexOf(role);
  const groups = new Set(memberOfGroupIds);
  const roles: Record<string, string> = {};
  for (const mapping of mappings) {
    if (!groups.has(mapping.groupId)) continue;
    const role = mapping.role ?? settings.defaultRole;
    if (!role) continue;
    const current = roles[mapping.workspace];
    if (current === undefined || rank(role) > rank(current)) roles[mapping.workspace] = role;
  }
  if (roles[ORG_WORKSPACE] === undefined && settings.defaultRole) roles[ORG_WORKSPACE] = settings.defaultRole;
  const admin = adminRole(settings);
  return { roles, isAdmin: admin !== null && roles[ORG_WORKSPACE] === admin };
}

export function sameRoles(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** "admin" for the organization, "workspace:role" for a workspace. */
export function formatRoles(roles: Record<string, string>): string[] {
  return Object.entries(roles)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([workspace, role]) => (workspace === ORG_WORKSPACE ? role : `${workspace}:${role}`));
}
