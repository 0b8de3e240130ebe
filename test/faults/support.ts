import { randomBytes } from 'node:crypto';
import type { HubProcess } from '../support/hub-process.ts';
import type { Collected } from '../streams/support.ts';

/** The seed of this run's generated load: FAULTS_SEED replays one. */
export function runSeed(): number {
  const seed = process.env.FAULTS_SEED ? Number(process.env.FAULTS_SEED) : randomBytes(4).readUInt32BE() >>> 1;
  return seed;
}

export function hubEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ADMIN_API_KEY: `faults-admin-${randomBytes(12).toString('hex')}`,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    EVENTS_POLL_INTERVAL_MS: '1000',
    LOG_LEVEL: 'error',
    ...extra,
  };
}

export async function graphql(hub: { url: string }, key: string, query: string, variables: Record<string, unknown> = {}, timeoutMs = 60_000) {
  const response = await fetch(`${hub.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

/** Waits until the stream's last id is the organization's latest lifecycle event id. */
export async function drainTo(hub: HubProcess, key: string, organizationId: string, stream: Collected<{ id: string }>, timeoutMs = 60_000): Promise<string | null> {
  const { body } = await graphql(hub, key, 'query($o: ID!) { latestLifecycleEventId(organizationId: $o) }', { o: organizationId });
  const latest = body.data?.latestLifecycleEventId as string | null;
  const deadline = Date.now() + timeoutMs;
  while (latest && stream.items.at(-1)?.id !== latest && BigInt(stream.items.at(-1)?.id ?? 0) < BigInt(latest)) {
    if (stream.errors.length) throw new Error(`the resumed stream failed: ${JSON.stringify(stream.errors[0])}`);
    if (Date.now() > deadline) throw new Error(`the resumed stream stopped at ${stream.items.at(-1)?.id} of ${latest}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Anything past the latest id would be a duplicate or an invention: give it a moment to show.
  await new Promise((r) => setTimeout(r, 500));
  return latest;
}
