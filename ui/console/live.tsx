// Live lifecycle events over graphql-ws, resumed without loss: the subscription starts `after` the
// newest event id when the screen loaded (latestLifecycleEventId: nothing between the page's query
// and the subscription is missed), and after a reconnect it resumes after the last event received.
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import type { Client as WsClient } from 'graphql-ws';
import { stringifyDocument } from 'urql';
import { socketOpen } from '../shared/client.ts';
import { graphql, type ResultOf } from '../shared/graphql.ts';

export const WsContext = createContext<WsClient | null>(null);

export const LifecycleEventFields = graphql(`
  subscription LiveLifecycleEvents($organizationId: ID!, $after: ID, $types: [String!]) {
    lifecycleEvents(organizationId: $organizationId, after: $after, types: $types) {
      id type enforcedAt occurredAt receivedAt deliveryId
      user { id displayName email userName state }
      group { id displayName }
      connection { id name provider }
    }
  }
`);

export type LiveEvent = ResultOf<typeof LifecycleEventFields>['lifecycleEvents'];
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export function useLifecycleEvents(options: { organizationId: string; after: string | null | undefined; types?: string[]; enabled?: boolean; onEvent(event: LiveEvent): void }) {
  const ws = useContext(WsContext);
  const [state, setState] = useState<LiveState>('connecting');
  const [failure, setFailure] = useState<string | null>(null);
  const onEvent = useRef(options.onEvent);
  onEvent.current = options.onEvent;
  const types = options.types?.join(',');
  useEffect(() => {
    if (!ws || options.enabled === false || options.after === undefined) return;
    // graphql-ws serializes this payload each time it (re)subscribes, so updating `after` as events
    // arrive makes its automatic resubscription after a reconnect resume from the last one seen.
    const variables = { organizationId: options.organizationId, after: options.after, types: types ? types.split(',') : null };
    const payload = { query: stringifyDocument(LifecycleEventFields), variables };
    const offConnected = ws.on('connected', () => setState('live'));
    const offClosed = ws.on('closed', () => setState((s) => (s === 'stopped' ? s : 'reconnecting')));
    setState(socketOpen.get(ws) ? 'live' : 'connecting');
    const unsubscribe = ws.subscribe<ResultOf<typeof LifecycleEventFields>>(payload, {
      next(result) {
        const event = result.data?.lifecycleEvents;
        if (event) {
          variables.after = event.id;
          onEvent.current(event);
        }
        if (result.errors?.length) setFailure(result.errors.map((e) => e.message).join('; '));
      },
      error(error) {
        setState('stopped');
        setFailure(error instanceof Error ? error.message : (error as CloseEvent)?.reason || 'the live connection was closed');
      },
      complete() {
        setState('stopped');
      },
    });
    return () => {
      offConnected();
      offClosed();
      unsubscribe();
    };
  }, [ws, options.organizationId, options.after, options.enabled, types]);
  return { state, failure };
}

export function LiveIndicator({ state, failure }: { state: LiveState; failure: string | null }) {
  const words = { connecting: 'Connecting to live updates…', live: 'Live: changes appear as they happen', reconnecting: 'Reconnecting (updates will resume where they stopped)…', stopped: 'Live updates stopped' }[state];
  return (
    <p className="muted" role="status" aria-live="polite">
      <span aria-hidden="true" className={state === 'live' ? 'live-dot on' : 'live-dot'}>{state === 'live' ? '● ' : '○ '}</span>{words}{failure ? `: ${failure}. Reload the page to retry.` : ''}
    </p>
  );
}
