// Okta-shaped SCIM initial-sync load from the test process: several concurrent clients POST users,
// POST groups with members and PATCH members in, recording every write the hub acknowledged (2xx)
// and every write whose outcome is unknown (in flight when the server died, or answered 5xx).
import fc from 'fast-check';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export interface Answer {
  op: 'createUser' | 'createGroup' | 'addMembers';
  status: number | 'network';
  body?: any;
  retryAfter?: string | null;
  ms: number;
}

export interface AckedGroup {
  id: string;
  displayName: string;
  /** Member ids the hub acknowledged (POST /Groups members and acknowledged PATCH adds). */
  members: Set<string>;
}

export class ScimLoad {
  /** userName → SCIM id, acknowledged with 201. */
  readonly users = new Map<string, string>();
  readonly groups = new Map<string, AckedGroup>();
  /** Groups POSTed with members whose answer never came or was not 2xx: all or nothing. */
  readonly unknownGroups: { displayName: string; members: string[] }[] = [];
  /** Users POSTed whose answer never came or was not 2xx (an IdP retries them). */
  readonly unknownUsers: string[] = [];
  readonly answers: Answer[] = [];
  acked = 0;
  private stopped = false;
  private running: Promise<void>[] = [];
  private readonly random: () => number;

  constructor(
    private baseUrl: string,
    private readonly token: string,
    readonly seed: number,
    private readonly options: { requestTimeoutMs?: number; onAck?: (acked: number) => void; pauseAfterFailureMs?: number } = {},
  ) {
    // A deterministic stream of choices from the printed seed.
    const values = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { seed, numRuns: 100_000 });
    let i = 0;
    this.random = () => values[i++ % values.length]!;
  }

  setBaseUrl(url: string) {
    this.baseUrl = url;
  }

  start(clients: number) {
    this.stopped = false;
    this.running = Array.from({ length: clients }, (_, k) => this.client(k));
  }

  async stop() {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** Waits for the clients to end (after halt()). */
  async finished() {
    await Promise.all(this.running);
  }

  /** Stops issuing new requests without waiting (the server is about to die). */
  halt() {
    this.stopped = true;
  }

  get statuses(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const a of this.answers) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
    return counts;
  }

  private pick<T>(items: T[], n: number): T[] {
    const chosen = new Set<T>();
    for (let i = 0; i < n * 3 && chosen.size < Math.min(n, items.length); i++) chosen.add(items[Math.floor(this.random() * items.length)]!);
    return [...chosen];
  }

  private async client(k: number) {
    for (let i = 0; !this.stopped; i++) {
      const step = i % 5;
      const userIds = [...this.users.values()];
      const groups = [...this.groups.values()];
      let ok: boolean;
      if (step === 3 && userIds.length >= 3) ok = await this.createGroup(`c${k}-g${i}-${this.seed}`, this.pick(userIds, 1 + Math.floor(this.random() * 3)));
      else if (step === 4 && groups.length && userIds.length >= 2) ok = await this.addMembers(groups[Math.floor(this.random() * groups.length)]!, this.pick(userIds, 2));
      else ok = await this.createUser(`c${k}-u${i}-${this.seed}@faults.example`);
      if (!ok && !this.stopped) await new Promise((r) => setTimeout(r, this.options.pauseAfterFailureMs ?? 100));
    }
  }

  private async send(op: Answer['op'], method: string, path: string, body: unknown): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/scim+json', accept: 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 60_000),
      });
      const text = await response.text();
      const answer: Answer = { op, status: response.status, body: text ? JSON.parse(text) : undefined, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started };
      this.answers.push(answer);
      return answer;
    } catch (error) {
      const answer: Answer = { op, status: 'network', body: String((error as Error).cause ?? error), ms: performance.now() - started };
      this.answers.push(answer);
      return answer;
    }
  }

  private ack() {
    this.acked++;
    this.options.onAck?.(this.acked);
  }

  /** POST /Users as an IdP retries one whose answer it lost: 201, or 409 uniqueness when the first did land. */
  async retryUser(userName: string): Promise<Answer> {
    return this.send('createUser', 'POST', '/Users', this.userBody(userName));
  }

  private userBody(userName: string) {
    const [local] = userName.split('@');
    return {
      schemas: [USER],
      userName,
      name: { givenName: local, familyName: 'Faults' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: `${local} Faults`,
      locale: 'en-US',
      externalId: `okta-${local}`,
      groups: [],
      active: true,
    };
  }

  private async createUser(userName: string): Promise<boolean> {
    const answer = await this.send('createUser', 'POST', '/Users', this.userBody(userName));
    if (answer.status !== 201) {
      this.unknownUsers.push(userName);
      return false;
    }
    this.users.set(userName, answer.body.id);
    this.ack();
    return true;
  }

  private async createGroup(displayName: string, members: string[]): Promise<boolean> {
    const answer = await this.send('createGroup', 'POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value, display: value })) });
    if (answer.status !== 201) {
      this.unknownGroups.push({ displayName, members });
      return false;
    }
    this.groups.set(answer.body.id, { id: answer.body.id, displayName, members: new Set(members) });
    this.ack();
    return true;
  }

  private async addMembers(group: AckedGroup, members: string[]): Promise<boolean> {
    const answer = await this.send('addMembers', 'PATCH', `/Groups/${group.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: members.map((value) => ({ value, display: value })) }],
    });
    if (answer.status !== 204 && answer.status !== 200) return false;
    for (const m of members) group.members.add(m);
    this.ack();
    return true;
  }
}
