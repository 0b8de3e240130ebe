// Deny by default for the two principals the browser brings: a setup session (a customer's IT admin
// from a setup link) and a browser not signed in. Before an operation runs, every field it selects
// (`Type.field`, through fragments too) must be on the principal's list below; otherwise nothing
// runs and the answer is FORBIDDEN (setup) or UNAUTHENTICATED (not signed in). A field added to
// the schema later is refused to them until it is listed here.
//
// The list says which fields; which objects is for the resolvers: a listed root field still checks
// its object (src/graphql/access.ts with canConfigureConnection / canSetUpOrganization), so a setup
// session reaches only its connection, that connection's groups and its organization's roles.
// API keys and console sessions are not restricted here.
import { GraphQLError, TypeInfo, visit, visitWithTypeInfo, getNamedType, isObjectType, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../context.ts';
import { apiError } from '../errors.ts';

type FieldList = readonly string[] | '*';

/** Signing in and out, and who am I: all a browser without a session may do. */
const SIGN_IN: Record<string, FieldList> = {
  Query: ['viewer'],
  Mutation: ['startSetupSession', 'startConsoleSession', 'endSession'],
  Viewer: '*',
  Organization: ['id', 'name'],
};

/**
 * What a setup session may do (issue 12): read its organization's name and roles, create or set up
 * its one SCIM connection (tokens, test mode, pause), map that connection's groups, and preview it.
 */
export const SETUP_ALLOWED: Record<string, FieldList> = {
  Query: ['viewer', 'organization', 'connection', 'group', 'groupMappingPreview'],
  Mutation: [
    'startSetupSession', 'startConsoleSession', 'endSession',
    'createDirectoryConnection', 'createScimToken', 'revokeScimToken',
    'setGroupMapping', 'removeGroupMapping', 'setConnectionTestMode', 'pauseConnection', 'resumeConnection',
  ],
  Viewer: '*',
  Organization: ['id', 'name', 'roleRanking', 'defaultRole'],
  DirectoryConnection: [
    'id', 'organizationId', 'provider', 'name', 'status', 'testMode', 'scimBaseUrl', 'createdAt', 'lastSyncedAt', 'lastError', 'lastErrorAt',
    'firstSync', 'counts', 'health', 'requestLog', 'scimTokens', 'groups',
  ],
  ConnectionFirstSync: '*',
  ConnectionCounts: '*',
  ConnectionHealth: '*',
  ScimToken: '*',
  RequestLogEntry: '*',
  Group: ['id', 'organizationId', 'sourceId', 'externalId', 'displayName', 'memberCount', 'deletedAt', 'createdAt', 'connection', 'mappings', 'members'],
  GroupMapping: ['id', 'workspace', 'role', 'group'],
  GroupMappingPreview: '*',
  RoleChangePreview: '*',
  // Group members, for the mapping preview ("who gets what").
  GroupMembersConnection: ['edges', 'pageInfo'],
  GroupMembersConnectionEdge: ['cursor', 'node'],
  PageInfo: '*',
  User: ['id', 'displayName', 'userName', 'email', 'givenName', 'familyName', 'roles'],
};

interface Rules {
  fields: Record<string, FieldList>;
  refuse: (coordinate: string) => GraphQLError;
}

const SETUP_RULES: Rules = {
  fields: SETUP_ALLOWED,
  refuse: (coordinate) => apiError('FORBIDDEN', `a setup session may not use ${coordinate}: it may only set up its organization's directory connection`),
};
const SIGN_IN_RULES: Rules = {
  fields: SIGN_IN,
  refuse: (coordinate) =>
    new GraphQLError(`sign in first (${coordinate}): open a setup link, or sign in to the console with an API key`, {
      extensions: { code: 'UNAUTHENTICATED', retryable: false, http: { status: 401 } },
    }),
};

/** Payload types of the allowed mutations: their own fields are allowed (what they hold is checked by its type). */
function payloadTypes(schema: GraphQLSchema, fields: Record<string, FieldList>): Set<string> {
  const names = new Set<string>();
  const mutation = schema.getMutationType();
  const allowed = fields.Mutation;
  if (!mutation || !allowed) return names;
  for (const field of Object.values(mutation.getFields())) {
    if (allowed !== '*' && !allowed.includes(field.name)) continue;
    const type = getNamedType(field.type);
    if (isObjectType(type) && !fields[type.name]) names.add(type.name);
  }
  return names;
}

const payloadsBySchema = new WeakMap<GraphQLSchema, Map<Rules, Set<string>>>();

/** The first field of the document the rules do not allow, as `Type.field`; null when all are. */
export function firstRefusedField(schema: GraphQLSchema, document: DocumentNode, rules: Rules): string | null {
  let bySchema = payloadsBySchema.get(schema);
  if (!bySchema) payloadsBySchema.set(schema, (bySchema = new Map()));
  let payloads = bySchema.get(rules);
  if (!payloads) bySchema.set(rules, (payloads = payloadTypes(schema, rules.fields)));
  const typeInfo = new TypeInfo(schema);
  let refused: string | null = null;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (refused) return false;
        const parent = typeInfo.getParentType();
        const name = node.name.value;
        // Introspection and __typename: the schema is public (schema.graphql).
        if (!parent || name.startsWith('__') || parent.name.startsWith('__')) return undefined;
        const list = rules.fields[parent.name];
        if (payloads.has(parent.name) || list === '*' || list?.includes(name)) return undefined;
        refused = `${parent.name}.${name}`;
        return false;
      },
    }),
  );
  return refused;
}

function rulesFor(ctx: GraphQLContext): Rules | null {
  if (ctx.principal === null) return SIGN_IN_RULES;
  return ctx.principal.kind === 'setup' ? SETUP_RULES : null;
}

export function useSetupRestrictions(): Plugin<GraphQLContext> {
  const check = (args: { schema: GraphQLSchema; document: DocumentNode; contextValue: GraphQLContext }) => {
    const rules = rulesFor(args.contextValue);
    if (!rules) return null;
    const refused = firstRefusedField(args.schema, args.document, rules);
    return refused ? { errors: [rules.refuse(refused)] } : null;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution(refusal);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = check(args);
      if (refusal) setResultAndStopExecution(refusal);
    },
  };
}
