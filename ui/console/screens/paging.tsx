// Cursor paging for the directory lists: the server pages (first/after, last/before), the browser
// holds one page, whatever the directory's size.
import { useState } from 'react';

export const PAGE_SIZE = 100;
export type PageArgs = { first: number | null; after: string | null; last: number | null; before: string | null };
const firstPage: PageArgs = { first: PAGE_SIZE, after: null, last: null, before: null };

export function usePaging() {
  const [page, setPage] = useState<PageArgs>(firstPage);
  return {
    page,
    reset: () => setPage(firstPage),
    next: (endCursor: string | null | undefined) => endCursor && setPage({ first: PAGE_SIZE, after: endCursor, last: null, before: null }),
    previous: (startCursor: string | null | undefined) => startCursor && setPage({ first: null, after: null, last: PAGE_SIZE, before: startCursor }),
  };
}

export function Pager({ pageInfo, shown, total, noun, onNext, onPrevious }: {
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor?: string | null; endCursor?: string | null };
  shown: number; total: number; noun: string; onNext(): void; onPrevious(): void;
}) {
  return (
    <nav className="pager" aria-label={`${noun} pages`}>
      <button type="button" onClick={onPrevious} disabled={!pageInfo.hasPreviousPage}>← Previous</button>
      <button type="button" onClick={onNext} disabled={!pageInfo.hasNextPage}>Next →</button>
      <span className="muted" role="status">{shown} shown of {total.toLocaleString()} {noun}</span>
    </nav>
  );
}
