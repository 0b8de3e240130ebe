// Setup links and browser sessions over GraphQL (issue 12; names fixed in hub-notes/contract.md).
// Sign-in mutations set an HttpOnly cookie (src/http/session-cookies.ts) and are only for browsers:
// a request with no Authorization header and the CSRF header (yoga.ts gives such requests
// `ctx.browser`). What a setup session may then do is listed in use-setup-restrictions.ts.
import { GraphQLError } from 'graphql';
import { createSetupLink, endSession, revokeSetupLink, startConsoleSession, startSetupSession } from '../../tenancy/browser-sessions.ts';
import { actorOf, canAccessOrganization, type Principal } from '../../tenancy/principal.ts';
import { clearedSessionCookie, CSRF_HEADER, sessionCookie, type SessionCookieKind } from '../../http/session-cookies.ts';
import type { GraphQLContext } from '../context.ts';
import { builder } from '../builder.ts';
import { assertOrganization, isUuid } from '../access.ts';
import { apiError, notFound } from '../errors.ts';

export const SetupLink = builder.prismaObject('SetupLink', {
  description: 'A one-time link that opens the setup portal for one organization (its secret is shown once, in createSetupLink.url).',
  fields: (t) => ({
    id: t.exposeID('id'),
    connectionId: t.exposeID('connectionId', { nullable: true, description: 'The connection it sets up: the one it named, or the one its session created.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'The link, and the session opened from it, end here.' }),
    usedAt: t.expose('usedAt', { type: 'DateTime', nullable: true, description: 'When it was opened (links work once).' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ViewerKindEnum = builder.enumType('ViewerKind', {
  values: { ADMIN: { value: 'ADMIN' }, ORGANIZATION: { value: 'ORGANIZATION' }, SETUP: { value: 'SETUP', description: 'A setup session opened from a setup link.' } } as const,
});

interface ViewerShape {
  kind: 'ADMIN' | 'ORGANIZATION' | 'SETUP';
  organizationId: string | null;
  connectionId: string | null;
  expiresAt: Date | null;
}

function viewerOf(principal: Principal | null): ViewerShape | null {
  if (!principal) return null;
  const expiresAt = principal.browserSession?.expiresAt ?? null;
  switch (principal.kind) {
    case 'admin':
      return { kind: 'ADMIN', organizationId: null, connectionId: null, expiresAt };
    case 'organization':
      return { kind: 'ORGANIZATION', organizationId: principal.organizationId, connectionId: null, expiresAt };
    case 'setup':
      return { kind: 'SETUP', organizationId: principal.organizationId, connectionId: principal.connectionId, expiresAt };
  }
}

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'Who this request acts as.',
  fields: (t) => ({
    kind: t.field({ type: ViewerKindEnum, resolve: (v) => v.kind }),
    organization: t.prismaField({
      type: 'Organization',
      nullable: true,
      description: 'null for an admin.',
      resolve: (query, v, _args, ctx) => (v.organizationId ? ctx.hub.db.prisma.organization.findUnique({ ...query, where: { id: v.organizationId } }) : null),
    }),
    connectionId: t.id({ nullable: true, description: 'SETUP: the connection being set up; null until the link named one or the session created it.', resolve: (v) => v.connectionId }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When the browser session ends (null for an API key).', resolve: (v) => v.expiresAt }),
  }),
});

const SessionPayload = builder.objectRef<{ viewer: ViewerShape }>('SessionPayload').implement({
  fields: (t) => ({ viewer: t.field({ type: Viewer, resolve: (p) => p.viewer }) }),
});

const EndSessionPayload = builder.objectRef<{ ended: boolean }>('EndSessionPayload').implement({
  fields: (t) => ({ ended: t.boolean({ description: 'True when a browser session was open and is now ended.', resolve: (p) => p.ended }) }),
});

const SetupLinkPayload = builder.objectRef<{ setupLinkId: string }>('SetupLinkPayload').implement({
  fields: (t) => ({
    setupLink: t.prismaField({ type: 'SetupLink', resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.setupLink.findUniqueOrThrow({ ...query, where: { id: p.setupLinkId } }) }),
  }),
});

const CreateSetupLinkPayload = builder.objectRef<{ setupLinkId: string; url: string }>('CreateSetupLinkPayload').implement({
  fields: (t) => ({
    setupLink: t.prismaField({ type: 'SetupLink', resolve: (query, p, _args, ctx) => ctx.hub.db.prisma.setupLink.findUniqueOrThrow({ ...query, where: { id: p.setupLinkId } }) }),
    url: t.string({
      description: 'Opens the setup portal: hand it to the IT admin. Shown this once; the secret is after "#" so it never reaches a server log or a Referer.',
      resolve: (p) => p.url,
    }),
  }),
});

/** Sign-in sets a cookie: only for a browser request (no Authorization, the CSRF header sent). */
function browserOf(ctx: GraphQLContext) {
  if (!ctx.browser) throw apiError('FORBIDDEN', `sign-in is for browsers: send no Authorization header, and the header ${CSRF_HEADER}: 1`);
  return ctx.browser;
}

const invalidSecret = (message: string) => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', retryable: false, http: { status: 401 } } });

/** Replaces whatever session the browser had (one session per browser), and sets the new one's cookie. */
async function signIn(ctx: GraphQLContext, kind: SessionCookieKind, started: { cookieValue: string; principal: Principal }) {
  const browser = browserOf(ctx);
  await signOut(ctx);
  const other: SessionCookieKind = kind === 'setup' ? 'console' : 'setup';
  browser.setCookies.push(clearedSessionCookie(ctx.hub.publicUrl, other), sessionCookie(ctx.hub.publicUrl, kind, started.cookieValue, started.principal.browserSession!.expiresAt));
  ctx.principal = started.principal;
  return { viewer: viewerOf(started.principal)! };
}

async function signOut(ctx: GraphQLContext): Promise<boolean> {
  const principal = ctx.principal;
  const ended = principal?.browserSession ? await endSession(ctx.hub.db.sql, principal, actorOf(principal)) : false;
  // Committed: its sockets and streams end on every instance.
  if (ended) ctx.hub.credentials.revoked({ kind: 'browser_session', id: principal!.browserSession!.id });
  return ended;
}

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    nullable: true,
    description: 'Who this request acts as; null for a browser not signed in.',
    resolve: (_root, _args, ctx) => viewerOf(ctx.principal),
  }),
}));

builder.mutationFields((t) => ({
  createSetupLink: t.fieldWithInput({
    type: CreateSetupLinkPayload,
    authScopes: { authenticated: true },
    description: 'A one-time link to the setup portal for this organization (admin key or the organization\'s own). Audited.',
    input: {
      organizationId: t.input.id({ required: true }),
      connectionId: t.input.id({ description: 'The connection to set up; omit to let the session create one SCIM connection.' }),
      expiresInSeconds: t.input.int({ description: 'Lifetime of the link and of its session: 60 to 604800 (7 days); default 86400 (1 day).' }),
    },
    resolve: async (_root, { input }, ctx) => {
      const organizationId = assertOrganization(ctx, String(input.organizationId));
      const connectionId = input.connectionId == null ? null : String(input.connectionId);
      if (connectionId !== null && !isUuid(connectionId)) throw notFound('connection', connectionId);
      const { link, token } = await createSetupLink(ctx.hub.db.sql, { organizationId, connectionId, expiresInSeconds: input.expiresInSeconds }, actorOf(ctx.principal!));
      return { setupLinkId: link.id, url: `${ctx.hub.publicUrl}/setup#${token}` };
    },
  }),
  revokeSetupLink: t.fieldWithInput({
    type: SetupLinkPayload,
    authScopes: { authenticated: true },
    description: 'The link stops working, and the session opened from it ends at once on every instance (its sockets closed with 4401). Audited.',
    input: { setupLinkId: t.input.id({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.setupLinkId);
      if (!isUuid(id)) throw notFound('setup link', id);
      const { sessionIds } = await revokeSetupLink(ctx.hub.db.sql, id, actorOf(ctx.principal!), (organizationId) => canAccessOrganization(ctx.principal, organizationId));
      for (const sessionId of sessionIds) ctx.hub.credentials.revoked({ kind: 'browser_session', id: sessionId });
      return { setupLinkId: id };
    },
  }),
  startSetupSession: t.fieldWithInput({
    type: SessionPayload,
    description: 'Opens a setup link (the secret after "#" in its url) and sets the session cookie. Once per link: again, LINK_USED; expired, LINK_EXPIRED; revoked, LINK_REVOKED.',
    input: { token: t.input.string({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      browserOf(ctx);
      const started = await startSetupSession(ctx.hub.db.sql, input.token);
      // No such link: a guess, answered 401 and counted against the address (src/http/auth-failures.ts).
      if (!started) throw invalidSecret('this setup link is not valid: check that the whole link was copied');
      return signIn(ctx, 'setup', started);
    },
  }),
  startConsoleSession: t.fieldWithInput({
    type: SessionPayload,
    description: 'Console sign-in: the API key is exchanged for an HttpOnly session cookie (12 hours; ends when the key is revoked). The browser keeps no key.',
    input: { apiKey: t.input.string({ required: true }) },
    resolve: async (_root, { input }, ctx) => {
      browserOf(ctx);
      const key = await ctx.hub.auth.authenticate(input.apiKey);
      if (!key) throw invalidSecret('the API key is not valid (revoked, mistyped, or for another server)');
      return signIn(ctx, 'console', await startConsoleSession(ctx.hub.db.sql, key, input.apiKey));
    },
  }),
  endSession: t.field({
    type: EndSessionPayload,
    description: "Signs out: ends this browser's session (its sockets and streams too) and removes its cookie.",
    resolve: async (_root, _args, ctx) => {
      const ended = await signOut(ctx);
      if (ctx.browser) ctx.browser.setCookies.push(clearedSessionCookie(ctx.hub.publicUrl, 'console'), clearedSessionCookie(ctx.hub.publicUrl, 'setup'));
      return { ended };
    },
  }),
}));
