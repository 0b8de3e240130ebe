// A stand-in for Clerk's Backend API on 127.0.0.1, serving the routes the Clerk connector calls
// through @clerk/backend, in the shapes the SDK expects (test/fixtures/clerk):
//   GET  /v1/users                      bare array; limit, offset, order_by, user_id[]
//   GET  /v1/users/count                { object: "total_count", total_count }
//   GET  /v1/organizations              { data, total_count }
//   GET  /v1/organizations/:id/memberships
//   GET  /v1/sessions                   user_id, status, limit, offset (the SDK adds paginated=true)
//   GET  /v1/sessions/:id               the Session
//   POST /v1/sessions/:id/revoke        the Session, status "revoked"; 400 if it is not active
//   POST /v1/users/:id/ban              the User, banned
// Every route wants `Authorization: Bearer <secretKey>` and answers errors in Clerk's error body.
import { fixture } from './clerk-objects.ts';
import { startStandIn, type RecordedRequest, type StandIn, type StandInReply } from '../support/stand-in.ts';

export interface ClerkStandIn extends StandIn {
  secretKey: string;
  users: any[];
  organizations: any[];
  memberships: any[];
  sessions: any[];
  /**
   * Users an unfiltered listing leaves out though Clerk has them (offset paging does that when
   * users are deleted while it pages); a lookup by user_id still finds them.
   */
  hiddenFromListing: Set<string>;
  /** Delay before answering a user listing page (to watch progress). */
  listingDelayMs: number;
  /** Requests to the Backend API, for assertions. */
  calls(): Array<{ method: string; path: string; query: string }>;
}

const error = (status: number, code: string, message: string): StandInReply => ({
  status,
  json: { errors: [{ code, message, long_message: message, meta: {} }], clerk_trace_id: `trace_${code}` },
});

function page<T>(items: T[], query: URLSearchParams): T[] {
  const limit = Number(query.get('limit') ?? 10);
  const offset = Number(query.get('offset') ?? 0);
  return items.slice(offset, offset + limit);
}

export async function startClerkStandIn(secretKey: string): Promise<ClerkStandIn> {
  const state = { users: [] as any[], organizations: [] as any[], memberships: [] as any[], sessions: [] as any[], hiddenFromListing: new Set<string>(), listingDelayMs: 0 };

  const filteredUsers = (q: URLSearchParams) => {
    const ids = q.getAll('user_id');
    const sorted = [...state.users].sort((a, b) => (q.get('order_by') === '+created_at' ? a.created_at - b.created_at : b.created_at - a.created_at));
    return ids.length ? sorted.filter((u) => ids.includes(u.id)) : sorted.filter((u) => !standIn.hiddenFromListing.has(u.id));
  };

  const route = async (req: RecordedRequest): Promise<StandInReply | undefined> => {
    if (req.headers.authorization !== `Bearer ${secretKey}`) return error(401, 'authentication_invalid', 'Invalid authentication');
    const p = req.path;
    let m: RegExpMatchArray | null;
    if (req.method === 'GET' && p === '/v1/users') {
      if (standIn.listingDelayMs) await new Promise((r) => setTimeout(r, standIn.listingDelayMs));
      return { json: page(filteredUsers(req.query), req.query) };
    }
    if (req.method === 'GET' && p === '/v1/users/count') return { json: { object: 'total_count', total_count: filteredUsers(req.query).length } };
    if (req.method === 'GET' && p === '/v1/organizations') {
      return { json: { data: page(state.organizations, req.query), total_count: state.organizations.length } };
    }
    if (req.method === 'GET' && (m = p.match(/^\/v1\/organizations\/([^/]+)\/memberships$/))) {
      const of = state.memberships.filter((x) => x.organization.id === m![1]);
      return { json: { data: page(of, req.query), total_count: of.length } };
    }
    if (req.method === 'GET' && p === '/v1/sessions') {
      const of = state.sessions.filter((s) => (!req.query.get('user_id') || s.user_id === req.query.get('user_id')) && (!req.query.get('status') || s.status === req.query.get('status')));
      return { json: { data: page(of, req.query), total_count: of.length } };
    }
    if (req.method === 'GET' && (m = p.match(/^\/v1\/sessions\/([^/]+)$/))) {
      const session = state.sessions.find((s) => s.id === m![1]);
      return session ? { json: session } : { status: 404, json: fixture('api-error-404.json') };
    }
    if (req.method === 'POST' && (m = p.match(/^\/v1\/sessions\/([^/]+)\/revoke$/))) {
      const session = state.sessions.find((s) => s.id === m![1]);
      if (!session) return { status: 404, json: fixture('api-error-404.json') };
      if (session.status !== 'active') return error(400, 'session_not_active', `session is ${session.status}`);
      session.status = 'revoked';
      return { json: { ...fixture<Record<string, unknown>>('api-session-revoke.json'), ...session } };
    }
    if (req.method === 'POST' && (m = p.match(/^\/v1\/users\/([^/]+)\/ban$/))) {
      const user = state.users.find((u) => u.id === m![1]);
      if (!user) return { status: 404, json: fixture('api-error-404.json') };
      user.banned = true;
      for (const s of state.sessions) if (s.user_id === user.id && s.status === 'active') s.status = 'revoked';
      return { json: user };
    }
    return error(404, 'resource_not_found', `the stand-in has no route for ${req.method} ${p}`);
  };

  const standIn: ClerkStandIn = Object.assign(await startStandIn((req) => route(req)), state, {
    secretKey,
    calls: () => standIn.requests.map((r) => ({ method: r.method, path: r.path, query: r.query.toString() })),
  });
  return standIn;
}
