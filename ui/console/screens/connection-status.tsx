// A connection's status in words (never colour alone: the badge says it, and a sentence explains it).
import { Badge } from '../../shared/components.tsx';
import type { Connection } from './connection.tsx';

type Status = Connection['status'];

const STATUS: Record<Status, { words: string; tone?: 'ok' | 'danger' | 'warn'; symbol: string; means: string }> = {
  AWAITING_FIRST_REQUEST: {
    words: 'Waiting for the first request', symbol: '○',
    means: 'Nothing authenticated has arrived yet. Give the identity provider the SCIM base URL and a token, then start provisioning there.',
  },
  ACTIVE: { words: 'Active', tone: 'ok', symbol: '●', means: 'Requests arrive and are applied.' },
  PAUSED: {
    words: 'Paused', tone: 'warn', symbol: '❚❚',
    means: 'Changes are refused with "retry later" until you resume; the identity provider keeps them and sends them again.',
  },
  FAILING: {
    words: 'Failing', tone: 'danger', symbol: '✕',
    means: 'The latest requests failed in a row (see the last error). It is active again at the next success.',
  },
  STALE: {
    words: 'Stale: nothing received lately', tone: 'warn', symbol: '◔',
    means: 'No request has arrived for a while. Check that provisioning is still turned on in the identity provider.',
  },
};

export function StatusBadge({ status }: { status: string }) {
  const s = STATUS[status as Status] ?? { words: status, symbol: '' };
  return <Badge tone={s.tone}><span aria-hidden="true">{s.symbol} </span>{s.words}</Badge>;
}

export function statusMeaning(status: string): string {
  return STATUS[status as Status]?.means ?? '';
}
