// The search box of the paged directory lists (users, groups): the query runs on submit, not per
// keystroke, so a 100k-user organization is asked once per search. Extra filters (the users'
// state) go in as children, inside the same form.
import { useState, type ReactNode } from 'react';

export function SearchForm({ id, placeholder, onSearch, children }: { id: string; placeholder: string; onSearch: (text: string) => void; children?: ReactNode }) {
  const [draft, setDraft] = useState('');
  return (
    <form role="search" className="row panel" onSubmit={(e) => {
      e.preventDefault();
      onSearch(draft.trim());
    }}>
      <div className="field" style={{ flex: '1 1 14rem' }}>
        <label htmlFor={id}>Search</label>
        <input id={id} type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={placeholder} />
      </div>
      {children}
      <div className="field"><button type="submit" className="primary">Search</button></div>
    </form>
  );
}
