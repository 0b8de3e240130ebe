// The outbound guard's refusal, apart from the guard itself (index.ts, which loads undici): the SDK
// gives it to connectors, and a connector loaded from a path should not pay for undici to read it.

export type RefusalReason = 'scheme' | 'host' | 'private_address' | 'redirect' | 'too_large';

/** The hub refused to send, or to read, an outbound request. The message says what to change. */
export class OutboundRefusedError extends Error {
  readonly code = 'OUTBOUND_REFUSED';
  constructor(readonly reason: RefusalReason, message: string) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

/** An OutboundRefusedError behind fetch's "fetch failed" (or an SDK's wrapping of it), if any. */
export function refusalIn(error: unknown): OutboundRefusedError | null {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // By name as well: a connector loaded from a path or a package has its own copy of this module.
    if (e instanceof OutboundRefusedError || (e as Error).name === 'OutboundRefusedError') return e as OutboundRefusedError;
  }
  return null;
}
